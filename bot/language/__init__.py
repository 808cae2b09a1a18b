"""Language: detection per message, Arabic normalisation, Arabizi, reply language."""
from bot.language.detect import AR, EN, LanguageGuess, detect
from bot.language.normalize import digits_only, normalize, western_digits
from bot.language.reply import LANGUAGE_SLOT, reply_language

__all__ = [
    "AR", "EN", "LANGUAGE_SLOT", "LanguageGuess", "detect", "digits_only", "normalize", "reply_language",
    "western_digits",
]
