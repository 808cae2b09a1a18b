"""Common Arabizi spellings and the Arabic they stand for.

Arabizi has no standard spelling, so rules alone (3=ع, 7=ح ...) cannot restore
the letters that Arabic writes and Arabizi omits or writes differently
(``fatoora`` is فاتورة, ``shakwa`` is شكوى).  The words customers use most in a
telecom care chat are listed here; anything else goes through the letter rules
in :mod:`bot.language.arabizi`.  Values are in normalised form (ه for ة, ي for ى).

``STRONG`` words are Arabizi and nothing else; ``WEAK`` words are also English or
names (``ana``, ``law``, ``mesh``), so they count as Arabizi only next to others.
"""
from __future__ import annotations

from typing import Dict, FrozenSet

LEXICON: Dict[str, str] = {
    # pronouns and function words
    "ana": "انا", "ani": "اني", "enta": "انت", "inta": "انت", "ent": "انت", "enti": "انتي", "inti": "انتي",
    "e7na": "احنا", "i7na": "احنا", "ne7na": "نحنا", "7na": "حنا", "hua": "هو", "howa": "هو", "huwa": "هو",
    "heya": "هي", "hiya": "هي", "homa": "هم", "hum": "هم", "entom": "انتم",
    # "mine": "el order mali" (Gulf/Levant), "el order beta3i" (Egypt)
    "mali": "مالي", "maali": "مالي", "maly": "مالي", "beta3i": "بتاعي", "bta3i": "بتاعي", "beta3y": "بتاعي",
    "taba3i": "تبعي", "taba3y": "تبعي", "7aggi": "حقي", "7agi": "حقي", "7a2i": "حقي",
    "el": "ال", "al": "ال", "il": "ال", "fe": "في", "fi": "في", "fy": "في", "f": "في", "men": "من", "min": "من",
    "mn": "من", "3la": "على", "3ala": "على", "ala": "على", "3an": "عن", "an": "عن", "ma3": "مع", "m3": "مع",
    "ya": "يا", "w": "و", "wa": "و", "we": "و", "aw": "او", "walla": "ولا", "wala": "ولا", "bas": "بس",
    "law": "لو", "lw": "لو", "lo": "لو", "kaman": "كمان", "bardo": "بردو", "3shan": "عشان", "3ashan": "عشان",
    "3alashan": "علشان", "leh": "ليه", "lesh": "ليش", "laish": "ليش", "lish": "ليش", "wen": "وين", "wain": "وين",
    "wein": "وين", "wayn": "وين", "fen": "فين", "fein": "فين", "feen": "فين", "kam": "كم", "kem": "كم",
    "kaam": "كام", "kam": "كم", "shlon": "شلون", "shloon": "شلون", "ezay": "ازاي", "ezzay": "ازاي", "izzay": "ازاي",
    "emta": "امتى", "imta": "امتى", "meta": "متى", "mata": "متى", "sho": "شو", "shu": "شو", "eh": "ايه",
    "eih": "ايه", "esh": "ايش", "aish": "ايش", "shino": "شنو", "shenu": "شنو", "mino": "مينو", "meen": "مين",
    "min hada": "مين هذا", "hatha": "هذا", "hadha": "هذا", "hada": "هذا", "haza": "هذا", "da": "دا", "dah": "ده",
    "di": "دي", "dy": "دي", "ely": "اللي", "elly": "اللي", "illi": "اللي", "elli": "اللي", "lli": "اللي",
    "kida": "كده", "keda": "كده", "kidah": "كده", "chithi": "كذا", "kitha": "كذا", "hina": "هنا", "hena": "هنا",
    "henak": "هناك", "el7een": "الحين", "al7een": "الحين", "7een": "حين", "dilwa2ti": "دلوقتي",
    "delwa2ty": "دلوقتي", "delwa2ti": "دلوقتي", "alhin": "الحين", "alheen": "الحين",
    # yes / no / politeness
    "ee": "اي", "ei": "اي", "eeh": "ايه", "aywa": "ايوه", "aiwa": "ايوه", "aywah": "ايوه", "na3am": "نعم",
    "la": "لا", "la2": "لا", "laa": "لا", "mesh": "مش", "mish": "مش", "msh": "مش", "mo": "مو", "mu": "مو",
    "ma": "ما", "mafi": "مافي", "mafee": "مافي", "mafeesh": "مفيش", "mafish": "مفيش", "mfesh": "مفيش",
    "tamam": "تمام", "tmam": "تمام", "zain": "زين", "zein": "زين", "zen": "زين", "mashi": "ماشي", "mashy": "ماشي",
    "7ader": "حاضر", "akeed": "اكيد", "akid": "اكيد", "tab": "طب", "6ab": "طب", "6ayeb": "طيب", "tayeb": "طيب",
    "6ayib": "طيب", "tayib": "طيب", "khalas": "خلاص", "5alas": "خلاص", "khalaas": "خلاص",
    "law sama7t": "لو سمحت", "sama7t": "سمحت", "samaht": "سمحت", "min fadlak": "من فضلك", "fadlak": "فضلك",
    "afwan": "عفوا", "3afwan": "عفوا", "shukran": "شكرا", "shokran": "شكرا", "shukrn": "شكرا", "shkran": "شكرا",
    "mashkoor": "مشكور", "mashkor": "مشكور", "mashkour": "مشكور", "mashkura": "مشكوره", "meshkor": "مشكور",
    "tslm": "تسلم", "teslam": "تسلم", "tislam": "تسلم", "yeslamo": "يسلمو", "ysalmo": "يسلمو",
    "allah": "الله", "wallah": "والله", "wallahi": "والله", "inshallah": "ان شاء الله",
    "insha2allah": "ان شاء الله", "mashallah": "ما شاء الله", "alhamdulillah": "الحمد لله",
    "7amdellah": "الحمد لله", "7amdulillah": "الحمد لله", "yalla": "يلا", "yala": "يلا", "yallah": "يلا",
    # greetings
    "salam": "سلام", "slam": "سلام", "salaam": "سلام", "assalamu": "السلام", "alaikum": "عليكم",
    "3alaikum": "عليكم", "3alikom": "عليكم", "marhaba": "مرحبا", "mar7aba": "مرحبا", "mar7ba": "مرحبا",
    "ahlan": "اهلا", "ahla": "اهلا", "hala": "هلا", "halla": "هلا", "sabah": "صباح", "saba7": "صباح",
    "masa": "مساء", "masa2": "مساء", "el5air": "الخير", "elkhair": "الخير", "el5eer": "الخير", "elkheir": "الخير",
    "ma3a": "مع", "salama": "السلامه", "salameh": "السلامه", "habibi": "حبيبي", "7abibi": "حبيبي",
    "7abibti": "حبيبتي", "akhoi": "اخوي", "a5oy": "اخوي", "ukhti": "اختي", "3azizi": "عزيزي",
    "kifak": "كيفك", "kefak": "كيفك", "kaifak": "كيفك", "kif": "كيف", "kaif": "كيف", "keef": "كيف",
    "izzayak": "ازيك", "ezayak": "ازيك", "ezzayak": "ازيك", "3amel": "عامل", "3amla": "عامله",
    "7alak": "حالك", "halak": "حالك", "shlonak": "شلونك", "shlonk": "شلونك", "asmak": "اسمك", "esmak": "اسمك",
    "ismak": "اسمك",
    # wanting and doing
    "abi": "ابي", "abee": "ابي", "abbi": "ابي", "abgha": "ابغى", "abga": "ابغى", "abgh": "ابغى",
    "abghi": "ابغي", "ab8a": "ابغى", "a8dar": "اقدر", "a9dar": "اقدر", "agdar": "اقدر", "a2dar": "اقدر",
    "3ayez": "عايز", "3ayz": "عايز", "3aiz": "عايز", "3awez": "عاوز", "3awz": "عاوز", "3ayza": "عايزه",
    "3awza": "عاوزه", "bedi": "بدي", "biddi": "بدي", "baddi": "بدي", "ari": "اريد", "areed": "اريد", "urid": "اريد",
    "a3raf": "اعرف", "a3ref": "اعرف", "a3rif": "اعرف", "e3raf": "اعرف", "ashof": "اشوف", "ashoof": "اشوف",
    "ashuf": "اشوف", "shof": "شوف", "shoof": "شوف", "a3mel": "اعمل", "a3mil": "اعمل", "asawi": "اسوي",
    "sawi": "سوي", "sawili": "سويلي", "ashtri": "اشتري", "ashtry": "اشتري", "ashtari": "اشتري",
    "ashtarik": "اشترك", "ashtrek": "اشترك", "ashtirek": "اشترك", "ageddid": "اجدد", "ajaded": "اجدد",
    "ajadid": "اجدد", "ashen": "اشحن", "ash7an": "اشحن", "ashhan": "اشحن", "arsel": "ارسل", "arsil": "ارسل",
    "ab3at": "ابعت", "ab3as": "ابعث", "akalem": "اكلم", "akallem": "اكلم", "akalim": "اكلم", "a-kallem": "اكلم",
    "akallim": "اكلم", "kallem": "كلم", "kalmni": "كلمني", "kalemni": "كلمني", "kalimni": "كلمني",
    "7awelni": "حولني", "7awilni": "حولني", "7awlni": "حولني", "hawelni": "حولني", "wadeni": "وديني",
    "sa3edni": "ساعدني", "sa3idni": "ساعدني", "sa3dni": "ساعدني", "sa3ed": "ساعد", "mosa3da": "مساعده",
    "musa3ada": "مساعده", "ra7": "راح", "ba3d": "بعد", "lessa": "لسه", "lissa": "لسه", "ba2a": "بقى",
    "mabyesht3'alsh": "مبيشتغلش", "mayishta3'el": "مايشتغل", "yeshta3'al": "يشتغل", "yishtaghil": "يشتغل",
    "shaghal": "شغال", "sha3'al": "شغال", "sha8al": "شغال", "2ata3": "قطع", "gata3": "قطع", "fasel": "فاصل",
    "faasel": "فاصل", "wa2ef": "واقف", "wagef": "واقف", "ba6i2": "بطيء", "ba6ee2": "بطيء", "bati2": "بطيء",
    "ta3ban": "تعبان", "za3lan": "زعلان", "mit2a55ar": "متاخر", "met2akhar": "متاخر", "mita5er": "متاخر",
    "wasal": "وصل", "wesel": "وصل", "wasl": "وصل", "yewsal": "يوصل", "yusal": "يوصل",
    "3andi": "عندي", "3ndi": "عندي", "3andy": "عندي", "3ndy": "عندي", "3andak": "عندك", "3ndk": "عندك",
    "3andkom": "عندكم", "ma3i": "معي", "ma3aya": "معايا", "leya": "ليا", "liya": "ليا", "li": "لي",
    "ila": "الى", "anta": "انت", "hal": "هل", "maa": "مع", "3arabi2": "عربي", "ebi": "ابي", "ebgha": "ابغى", "ebga": "ابغى", "shlonik": "شلونك", "ahleen": "اهلين", "hla": "هلا",
    "slm": "سلام", "ewa": "ايوه", "sa7": "صح", "abadan": "ابدا", "momken": "ممكن", "mumkin": "ممكن",
    "badal": "بدل", "rakamo": "رقمه", "taqreeban": "تقريبا", "ta2reeban": "تقريبا", "zyada": "زياده",
    "mfeesh": "مفيش", "fasla": "فاصله", "motashakker": "متشكر", "mersi": "مرسي", "lel": "لل", "menkom": "منكم",
    "minkom": "منكم", "bekheir": "بخير", "bkheir": "بخير", "ismuk": "اسمك", "shismak": "شسمك",
    "shakhbarak": "شخبارك", "awi": "اوي", "ahsant": "احسنت", "eskot": "اسكت", "liqa2": "لقاء",
    # telecom care vocabulary
    "fatoora": "فاتوره", "fatora": "فاتوره", "fatura": "فاتوره", "fatoura": "فاتوره", "fa2ora": "فاتوره",
    "fawateer": "فواتير", "fawatir": "فواتير", "7esab": "حساب", "hesab": "حساب", "7sab": "حساب",
    "mablagh": "مبلغ", "mabla3'": "مبلغ", "flos": "فلوس", "flous": "فلوس", "feloos": "فلوس", "fulus": "فلوس",
    "derham": "درهم", "dirham": "درهم", "drhm": "درهم", "riyal": "ريال", "ryal": "ريال", "rial": "ريال",
    "dinar": "دينار", "gineh": "جنيه", "geneh": "جنيه", "khasm": "خصم", "5asm": "خصم", "5asamo": "خصمو",
    "ghalat": "غلط", "3'alat": "غلط", "8alat": "غلط", "ghali": "غالي", "3'ali": "غالي",
    "shakwa": "شكوي", "shakwah": "شكوي", "shakwa2": "شكوي", "shakawi": "شكاوي", "ta3weed": "تعويض",
    "ta3wid": "تعويض", "ta3weedh": "تعويض", "ta3wee": "تعويض", "estirdad": "استرداد", "raseed": "رصيد",
    "ra9eed": "رصيد", "rased": "رصيد", "ra9ed": "رصيد", "baga": "باقه", "baqa": "باقه", "ba2a": "باقه",
    "bakah": "باقه", "bakat": "باقه", "baqat": "باقات", "bagat": "باقات", "net": "نت", "elnet": "النت",
    "el-net": "النت", "internet": "انترنت", "enternet": "انترنت", "giga": "جيجا", "gega": "جيجا",
    "jiga": "جيجا", "shabaka": "شبكه", "shabaka2": "شبكه", "shabakah": "شبكه", "ersal": "ارسال", "irsal": "ارسال",
    "erssal": "ارسال", "khat": "خط", "5at": "خط", "5a6": "خط", "shari7a": "شريحه", "shre7a": "شريحه",
    "shareeha": "شريحه", "shar7a": "شريحه", "telephone": "تلفون", "tilifon": "تلفون", "jawal": "جوال",
    "jawwal": "جوال", "mobile": "موبايل", "mobail": "موبايل", "talab": "طلب", "6alab": "طلب", "6alabi": "طلبي",
    "talabi": "طلبي", "talaby": "طلبي", "6alaby": "طلبي", "tawseel": "توصيل", "tawsil": "توصيل",
    "shi7na": "شحنه", "she7na": "شحنه", "shohna": "شحنه", "raqam": "رقم", "ra8am": "رقم", "ra2am": "رقم",
    "rakam": "رقم", "ra9am": "رقم", "far3": "فرع", "fara3": "فرع", "foroo3": "فروع", "ma7al": "محل",
    "mahal": "محل", "ma7al": "محل", "m7al": "محل", "a2rab": "اقرب", "agrab": "اقرب", "aqrab": "اقرب",
    "mowazaf": "موظف", "mwazaf": "موظف", "mowazzaf": "موظف", "muwazaf": "موظف", "mowazef": "موظف",
    "7ad": "حد", "a7ad": "احد", "had": "حد", "insan": "انسان", "ensan": "انسان", "bani": "بني", "adam": "ادم",
    "khedma": "خدمه", "5edma": "خدمه", "khidmat": "خدمه", "5admat": "خدمات", "3omala": "عملاء",
    "3ameel": "عميل", "safar": "سفر", "msafer": "مسافر", "mesafer": "مسافر", "musafir": "مسافر",
    "tajwal": "تجوال", "tajawol": "تجوال", "el-tajwal": "التجوال", "barra": "بره", "bara": "بره",
    "el5arej": "الخارج", "elkharej": "الخارج", "kharej": "خارج", "sha3r": "شهر", "shahr": "شهر",
    "shahri": "شهري", "ams": "امس", "embare7": "البارح", "mbare7": "البارح", "elbare7": "البارح",
    "imbarih": "البارح", "embareh": "البارح", "el2sbo3": "الاسبوع", "osbo3": "اسبوع", "youm": "يوم",
    "yom": "يوم", "sa3a": "ساعه", "sa3at": "ساعات", "3arabi": "عربي", "3arabiy": "عربي", "3rabi": "عربي",
    "inglizi": "انجليزي", "ingilizi": "انجليزي", "engelizi": "انجليزي", "englizi": "انجليزي",
    "ingleezi": "انجليزي", "bel3arabi": "بالعربي", "bil3arabi": "بالعربي", "belinglizi": "بالانجليزي",
    "lo3'a": "لغه", "lugha": "لغه", "lo8a": "لغه", "robot": "روبوت", "roboot": "روبوت", "ensan2": "انسان",
    "7aqiqi": "حقيقي", "7a2i2i": "حقيقي", "ha2i2i": "حقيقي", "7alan": "حالا", "dlw2ty": "دلوقتي",
    "mosta3gel": "مستعجل", "mista3jel": "مستعجل", "3ajel": "عاجل", "darori": "ضروري", "daroori": "ضروري",
    "6are2": "طارئ", "mushkila": "مشكله", "moshkela": "مشكله", "mushkilah": "مشكله", "moshkla": "مشكله",
    "khorba": "خربه", "za7ma": "زحمه", "zift": "زفت", "sayyi2": "سيء", "say2": "سيء", "afdal": "افضل",
    "7elw": "حلو", "helw": "حلو", "7ilw": "حلو", "gamed": "جامد", "momtaz": "ممتاز", "mumtaz": "ممتاز",
    "ghabi": "غبي", "3'abi": "غبي", "8abi": "غبي", "7mar": "حمار", "jaw": "جو", "ta2s": "طقس",
}

# Levantine, Egyptian and Maghrebi (Moroccan, Algerian, Tunisian) spellings the letter rules
# get wrong (they drop the long vowels: 3lach would become علش).
LEXICON.update({
    "bade": "بدي", "baddi": "بدي", "badi": "بدي", "bady": "بدي", "badna": "بدنا", "badak": "بدك",
    "hala2": "هلق", "halla2": "هلق", "hal2": "هلق", "hayda": "هيدا", "hayde": "هيدي", "ktir": "كتير",
    "kteer": "كتير", "ktiir": "كتير", "mnih": "منيح", "mni7": "منيح", "3am": "عم", "masari": "مصاري",
    "msari": "مصاري", "2adesh": "قديش", "adesh": "قديش", "2addeh": "قديش", "7ada": "حدا", "7ada2": "حدا",
    "lessa": "لسه", "lesa": "لسه", "lissa": "لسه", "lisa": "لسا", "la2emta": "لامتى", "ya3ni": "يعني",
    "bghit": "بغيت", "bghina": "بغينا", "bghiti": "بغيتي", "3lach": "علاش", "3lech": "علاش", "3lash": "علاش",
    "kifach": "كيفاش", "kifash": "كيفاش", "kifech": "كيفاش", "kifeh": "كيفاش", "chno": "شنو", "chnou": "شنو",
    "chnu": "شنو", "chnowa": "شنوه", "chnouwa": "شنوه", "bzaf": "بزاف", "bezaf": "بزاف", "bzzaf": "بزاف",
    "daba": "دابا", "dyali": "ديالي", "dyal": "ديال", "dial": "ديال", "diali": "ديالي", "mzyan": "مزيان",
    "mzian": "مزيان", "wakha": "واخا", "waha": "واخا", "safi": "صافي", "3afak": "عافاك", "barcha": "برشا",
    "barsha": "برشا", "taw": "توا", "tawa": "توا", "kayn": "كاين", "kayen": "كاين", "kaynch": "ماكاينش",
    "walou": "والو", "walo": "والو", "rani": "راني", "ghadi": "غادي", "nheb": "نحب", "n7eb": "نحب",
    "n7ebb": "نحب", "flous": "فلوس", "flouss": "فلوس", "mta3": "متاع", "wach": "واش", "ch7al": "شحال",
    "sh7al": "شحال", "chhal": "شحال", "ndir": "ندير", "nhder": "نهضر", "wa7ed": "واحد", "chi": "شي",
    "khdam": "خدام", "khdamch": "ماخدامش", "fil": "في ال", "mte3i": "متاعي", "mta3i": "متاعي",
})

# French words Maghrebi customers mix into Arabizi ("la facture dyali"): evidence against
# English, never transliterated (they spell French, not Arabic).
FRENCH: FrozenSet[str] = frozenset(
    "la le les de du des un une mon ma mes ton ta pour avec pas je tu il est et ou sur dans merci bonjour bonsoir "
    "svp stp facture compte carte solde recharge forfait offre abonnement connexion reseau commande promotion "
    "telephone portable client service probleme rien toujours encore deja aussi tres trop".split()
)

# Spellings that are also English words or common names: evidence only next to others.
WEAK: FrozenSet[str] = frozenset({
    "ana", "el", "al", "il", "fe", "fi", "f", "men", "min", "an", "ya", "w", "we", "aw", "bas", "law", "lo",
    "kam", "eh", "da", "di", "ma", "mo", "mu", "la", "tab", "net", "internet", "mobile", "had",
    "adam", "bani", "robot", "dirham", "riyal", "rial", "hal", "meta", "mesh", "hum", "ent", "ee", "ei", "dinar", "sho", "shu", "mersi", "ila",
    "hua", "ari", "salama", "yom", "ams", "mata", "wa", "ala", "kif", "jaw", "telephone", "bara",
    "mali", "maly",  # also the country and a name
    "dial", "chi", "taw", "rani", "fil", "lisa", "waha", "safi", "ya3ni",
})

STRONG: FrozenSet[str] = frozenset(word for word in LEXICON if word not in WEAK and " " not in word)
