"""Dialect words of Arabic and the shared form each stands for.

Customers ask the same thing with different function words and common verbs
depending on where they are from: "I want" is أبي / أبغى in the Gulf, عايز in
Egypt, بدي in the Levant, نحب / بغيت in the Maghreb, أريد in MSA.  Trainers
write a handful of examples in one or two of these; the classifier should not
need every dialect's spelling of every intent.  Each entry maps a dialect word
(normalised: ا for أإآ, ي for ى, ه for ة) to a *shared form* (the MSA word, also
normalised), which the intent classifier sees as an extra feature, and to the
regions that use it, which :mod:`bot.language.dialect` counts to tag a message.

Written for this project from general knowledge of the dialects (no word list
was copied).  Regions: ``gulf``, ``egyptian``, ``levantine``, ``maghrebi``.
A word listed for several regions is weak evidence for each of them.
"""
from __future__ import annotations

from typing import Dict, FrozenSet, Tuple

GULF = "gulf"
EGYPTIAN = "egyptian"
LEVANTINE = "levantine"
MAGHREBI = "maghrebi"
MSA = "msa"
REGIONS: Tuple[str, ...] = (GULF, EGYPTIAN, LEVANTINE, MAGHREBI)

_G, _E, _L, _M = GULF, EGYPTIAN, LEVANTINE, MAGHREBI

# shared form -> {dialect word: regions}
_GROUPS: Dict[str, Dict[str, Tuple[str, ...]]] = {
    "اريد": {  # I want
        "ابي": (_G,), "ابغي": (_G,), "ابغا": (_G,), "ابا": (_G,), "ودي": (_G,), "نبي": (_G,),
        "عايز": (_E,), "عاوز": (_E,), "عايزه": (_E,), "عاوزه": (_E,), "عايزين": (_E,), "عاوزين": (_E,),
        "بدي": (_L,), "بدنا": (_L,), "بدك": (_L,), "بدو": (_L,), "بدها": (_L,), "حابب": (_L, _G),
        "بغيت": (_M,), "نبغي": (_M, _G), "نحب": (_M,), "حبيت": (_M, _L), "باغي": (_M,), "بغينا": (_M,),
    },
    "ماذا": {  # what
        "وش": (_G,), "ويش": (_G,), "ايش": (_G, _L), "اش": (_G, _M), "شو": (_L,), "شنو": (_G, _M),
        "شنهو": (_M,), "ايه": (_E,), "واش": (_M,), "اشنو": (_M,), "شنوه": (_G,), "شنهي": (_M,),
    },
    "اين": {"وين": (_G, _L), "فين": (_E, _M), "فاين": (_M,), "وينه": (_G, _L), "فينه": (_E,), "وينها": (_G, _L)},
    "لماذا": {"ليش": (_G, _L), "ليه": (_E,), "علاش": (_M,), "لاش": (_M,), "عشان": (_E, _G), "ليشن": (_G,)},
    "ليس": {  # not
        "مو": (_G, _L), "مب": (_G,), "موب": (_G,), "مهوب": (_G,), "مش": (_E, _L), "مشي": (_L,), "ماشي": (_M, _E),
        "مانيش": (_M,), "ماهوش": (_M,), "موش": (_M,), "ماهو": (_G, _M), "ماني": (_G,),
    },
    "كيف": {"شلون": (_G,), "ازاي": (_E,), "كيفاش": (_M,), "كيفش": (_M,), "اشلون": (_G,), "كيفك": (_L, _G)},
    "متي": {"امتي": (_E, _L), "ايمتي": (_L,), "وقتاش": (_M,), "فوقاش": (_M,), "امته": (_G,), "متين": (_L,)},
    "كم": {"قديش": (_L,), "قداش": (_M,), "بكام": (_E,), "بكم": (_G, _E), "شحال": (_M,), "كام": (_E,), "اديش": (_L,)},
    "الان": {
        "الحين": (_G,), "الحينه": (_G,), "هلا": (_L,), "هلق": (_L,), "هلأ": (_L,), "هسا": (_L,), "هسه": (_L, _G),
        "دلوقتي": (_E,), "دلوقت": (_E,), "دابا": (_M,), "توا": (_M,), "درك": (_M,), "دروك": (_M,),
    },
    "هذا": {
        "هاد": (_L, _M), "هادا": (_L, _M), "هدا": (_L, _M), "ده": (_E,), "دي": (_E,), "هذي": (_G,), "هاذي": (_G,),
        "هاي": (_L, _G), "هيدا": (_L,), "هيدي": (_L,), "هادي": (_M, _L), "دا": (_E,), "ذا": (_G,),
    },
    "يوجد": {"فيه": (_G, _E, _L), "اكو": (_G,), "كاين": (_M,), "كاينه": (_M,), "كاينين": (_M,), "فماش": (_M,)},
    "جدا": {"وايد": (_G,), "واجد": (_G,), "كتير": (_L,), "كثير": (_G,), "بزاف": (_M,), "برشا": (_M,),
            "قوي": (_E,), "خالص": (_E,), "مره": (_G,), "كتيير": (_L,)},
    "جيد": {"زين": (_G,), "كويس": (_E,), "منيح": (_L,), "مليح": (_M,), "باهي": (_M,), "مزيان": (_M,),
            "تمام": (_E, _L, _G), "زينه": (_G,), "كويسه": (_E,), "منيحه": (_L,)},
    "افعل": {"اسوي": (_G,), "نسوي": (_G,), "اعمل": (_E, _L), "بعمل": (_E, _L), "نعمل": (_M, _E), "ندير": (_M,),
             "نديرو": (_M,), "سويت": (_G,), "عملت": (_E, _L), "درت": (_M,), "يسوي": (_G,), "يعمل": (_E, _L)},
    "اعطني": {"عطني": (_G,), "عطيني": (_G, _L), "اديني": (_E,), "ادني": (_E,), "جيبلي": (_L,),
              "هاتلي": (_E,)},
    "نعم": {"ايوه": (_E,), "ايوا": (_E, _G), "اي": (_G, _L), "اه": (_E, _L), "اييه": (_L,), "واه": (_M,),
            "ايه": (_E,), "صح": (_G,), "يب": (_G,), "اكيد": (_G, _E, _L)},
    "مازال": {"لسه": (_E,), "لسا": (_L,), "لساتني": (_L,), "باقي": (_M, _G), "مازال": (_M,), "لحد": (_E,)},
    "شيء": {"شي": (_G, _L), "حاجه": (_E, _M), "حاجات": (_E, _M), "اشي": (_L,), "شي ء": (_G,)},
    "استطيع": {"اقدر": (_G,), "بقدر": (_L, _E), "اگدر": (_G,), "نقدر": (_M,), "اقدرش": (_E,), "بقدرش": (_L,),
               "اكدر": (_G,), "تقدر": (_G, _E, _L)},
    "ايضا": {"كمان": (_E, _L), "برضو": (_E,), "برضه": (_E,), "زاده": (_M,), "بعد": (_G,), "حتي": (_M,)},
    "فقط": {"بس": (_G, _E, _L), "برك": (_M,), "غير": (_M,), "بركا": (_M,)},
    "من": {"مين": (_E, _L), "منو": (_G,), "شكون": (_M,), "منهو": (_G,)},
    "مال": {  # money
        "فلوس": (_G, _E), "فلوسي": (_G, _E), "مصاري": (_L,), "مصريات": (_L,), "دراهم": (_M, _G), "مصاريي": (_L,),
        "فلوسك": (_G, _E), "الفلوس": (_G, _E), "المصاري": (_L,), "الدراهم": (_M,), "فليسات": (_M,),
    },
    "بطاقه": {"كرت": (_G, _L), "كارت": (_E, _L), "الكرت": (_G, _L), "الكارت": (_E, _L), "كرتي": (_G, _L),
              "كارتي": (_E,), "كارطه": (_M,), "لاكارط": (_M,), "الكارطه": (_M,)},
    "اشتريت": {"شريت": (_G, _L, _M), "اشتريت": (_E,), "خديت": (_E,), "شرينا": (_M,)},
    "ذهب": {"راح": (_G, _L, _E), "رحت": (_G, _L, _E), "مشيت": (_M,), "روحت": (_E,)},
    "جاء": {"اجا": (_L,), "اجت": (_L,), "جه": (_E,), "جت": (_E,), "جاني": (_G,), "جاتني": (_G,), "وصلتني": (_G,)},
    "اخبرني": {"قلي": (_G, _L), "قولي": (_E, _L), "قولوا": (_E,), "خبرني": (_G,), "خبروني": (_G,)},
    "لماذا لم": {"ليش ما": (_G, _L)},
    "ارسل": {"ابعت": (_E, _L), "بعت": (_E, _L), "ابعث": (_G,), "بعتت": (_E, _L), "صيفط": (_M,), "صيفطت": (_M,)},
    "انتظر": {"استني": (_E,), "استنا": (_E,), "ناطر": (_L,), "بستني": (_E,), "انطر": (_L,), "نستنا": (_M,)},
}

# Dialect words without one MSA equivalent worth mapping: evidence for the tagger only.
_MARKERS: Dict[str, Tuple[str, ...]] = {
    **{w: (_L,) for w in "تبعي تبعك تبعتي تبعه تبعها تاعي تاعك تاعتي رح انو حدا زبط بزبط مزبوط بيزبط هيك منشان مشان فش "
                         "بحكي تحكيلي احكي بتحكي اشي مبين بتقدر بقدر بدكم ليكي كيفني هلقيت شوفي بعرفش بتعرف".split()},
    **{w: (_E,) for w in "بتاع بتاعي بتاعتي بتاعك بتاعه عشان علشان اوي بقي النهارده امبارح كده كدا مفيش ازيك حضرتك "
                         "هعمل هدفع عايزين ازاي فلوسي بتاعتك ليه".split()},
    **{w: (_G,) for w in "حقي حقك حقت يبيله ابغى عاد جذي هالحين انزين ترا حيل ماكو شلون يبي تبي ابيه وش "
                         "ليش".split()},
    **{w: (_M,) for w in "ديال ديالي ديالك غادي كنبغي راه راني هادشي والو صافي زعما باش كيما يزي فما ننجم نجم "
                         "نحبش مانيش برشا بزاف علاش كيفاش دابا".split()},
}

LEXICON: Dict[str, str] = {}
REGIONS_OF: Dict[str, FrozenSet[str]] = {}
for _shared, _words in _GROUPS.items():
    for _word, _regions in _words.items():
        if " " in _word:
            continue
        LEXICON.setdefault(_word, _shared)
        REGIONS_OF[_word] = REGIONS_OF.get(_word, frozenset()) | frozenset(_regions)
for _word, _regions in _MARKERS.items():
    REGIONS_OF[_word] = REGIONS_OF.get(_word, frozenset()) | frozenset(_regions)

# MSA function words that dialects rarely use: evidence for MSA in the tagger.
MSA_MARKERS: FrozenSet[str] = frozenset(
    "ماذا لماذا اريد هل يمكنني يمكن يمكنك لقد لم لن ليس ليست الذي التي الذين هناك لدي لدينا لديك عندما "
    "اين كيف متي اود ارغب سوف قد ايضا حيث حتي منذ ذلك تلك هذه هؤلاء اذا اي فقط الان جدا".split()
)

# Words too ambiguous to map on their own: they are also MSA words with another meaning.
AMBIGUOUS: FrozenSet[str] = frozenset({"بعد", "غير", "مره", "حتي", "اي", "راح", "بس", "دي", "ذا"})


def dialect_spellings(region: str) -> Dict[str, str]:
    """For one region, each single-word shared form and the first dialect word listed for it
    there (اريد -> بدي for Levantine): what augmentation substitutes."""
    spellings: Dict[str, str] = {}
    for shared, words in _GROUPS.items():
        if " " in shared or shared in AMBIGUOUS:
            continue
        for word, regions in words.items():
            if region in regions and " " not in word and word not in AMBIGUOUS:
                spellings[shared] = word
                break
    return spellings
