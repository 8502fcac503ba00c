"""Is a patient's message written in a language other than English?

The assistant only answers in English, from English articles. A question in Spanish
or Chinese should get a polite note saying so (with the clinic's contact), not a
random English answer the classifier guessed from a few shared letters.

Deterministic and model-free on purpose: no download, no randomness, the same answer
on every machine. Two signals:

- Script: when most letters are not Latin (Chinese, Japanese, Korean, Arabic, Hebrew,
  Cyrillic, Greek, Devanagari, Thai, ...), the message is not English.
- Function words: for Latin-script text, short words that are frequent in Spanish,
  French, German, Portuguese or Italian and are *not* English words ("que", "est",
  "ist", "não", "che"). English typos ("wat is a mbb"), procedure acronyms (FJI, MBB,
  RFA) and medical terms are not in these lists, so they are never flagged. A message
  is flagged only when foreign function words clearly outnumber English ones.

`detect()` returns the language's label, or None for English (or too little to tell);
the NLU override (bot/nlu/components.py, NonEnglishOverride) forces the `non_english`
intent on any label.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Dict, FrozenSet, Optional

# Share of non-Latin letters from which a message counts as written in that script.
NON_LATIN_SHARE = 0.5
# Share of Latin letters carrying diacritics (é, ñ, ã, ư, ...) that English text never
# reaches; Vietnamese or Portuguese without function words still stand out this way.
DIACRITIC_SHARE = 0.2

# Unicode name prefixes -> the label reported for letters of that script.
SCRIPTS = (
    ("CJK", "Chinese/Japanese"),
    ("HIRAGANA", "Japanese"),
    ("KATAKANA", "Japanese"),
    ("HANGUL", "Korean"),
    ("ARABIC", "Arabic"),
    ("HEBREW", "Hebrew"),
    ("CYRILLIC", "Cyrillic"),
    ("GREEK", "Greek"),
    ("DEVANAGARI", "Hindi"),
    ("BENGALI", "Bengali"),
    ("GURMUKHI", "Punjabi"),
    ("TAMIL", "Tamil"),
    ("THAI", "Thai"),
    ("ARMENIAN", "Armenian"),
    ("GEORGIAN", "Georgian"),
    ("ETHIOPIC", "Amharic"),
)


def _words(text: str) -> FrozenSet[str]:
    return frozenset(text.split())


# Function words and very common question words, none of which is an English word a
# patient would type. Deliberately left out because English uses them too: a, as,
# come, dates, die, do, he, me, male, no, non, pie, pour, son, was, will, dura (mater),
# and "da" (English slang for "the": "wats da point of da block").
FUNCTION_WORDS: Dict[str, FrozenSet[str]] = {
    "Spanish": _words(
        "el la los las un una unos unas de del que qué es en por para con se lo mi mis"
        " mí tengo tiene cuánto cuanto cuánta cuanta cómo como cuál cual cuándo cuando"
        " dónde donde duele dolor espalda inyección inyeccion puedo hay está esta estoy"
        " después despues muy pero porque hola gracias usted sí nervio nervios bloqueo"
        " sobre también tambien ya y o al va puede pueden necesito procedimiento"
        " semanas"
    ),
    "French": _words(
        "le la les un une des du de que qui quoi est et je j'ai ai tu il elle nous vous"
        " mon ma mes ton ta avec dans sur pas ce cette ces combien comment pourquoi"
        " douleur dos fait mal ça ca bonjour merci injection après apres très tres"
        " suis avoir être etre quel quelle où ou qu par"
    ),
    "German": _words(
        "der das den dem des ein eine einen einem ist sind und oder nicht ich du sie wir"
        " mit mein meine meinen wie lange wann warum welche welcher tut weh schmerzen"
        " rücken ruecken spritze nach bei auf kann ich's gibt es hallo danke bitte sehr"
        " noch auch nur"
    ),
    "Portuguese": _words(
        "o os um uma de dos das que é e em no na nos nas por para com não nao"
        " minha meu quanto quanta como qual quando onde dói doi dor costas injeção"
        " injecao tempo depois muito mas porque olá ola obrigado obrigada você voce"
        " eu tenho isso isto está esta sim posso pode podem preciso fazer banho"
        " procedimento semanas"
    ),
    "Italian": _words(
        "il lo la gli le un una di del della che è e per con mi fa quanto quanta come"
        " cosa quale quando dove dolore schiena iniezione dopo molto ma perché perche"
        " ciao grazie buongiorno sono ho hai ha questo questa fanno dell nell dall sull"
    ),
}

# English function words: the counterweight, so a mixed message stays English when
# English dominates ("what is una inyección?").
ENGLISH_WORDS = _words(
    "an the is are was were be been am i you he she it we they my your his her its our"
    " their him us them this that these those what which who whom whose when where why"
    " how do does did done can could will would should shall may might must have has had"
    " not yes and or but if then so of to in on at by for with from about after before"
    " into over under again there here all any some more most much many long hurt pain"
    " back procedure injection block nerve get whats wat hi hello"
    " thanks thank please ok okay da dey dat dis u ur r"
)

# Spanish inverted punctuation never appears in English.
SPANISH_MARKS = ("¿", "¡")

# Words, split at apostrophes so French and Italian elisions count ("qu'est",
# "dell'iniezione" -> "qu", "est", "dell", "iniezione").
_WORD = re.compile(r"[^\W\d_]+")


def _script_of(char: str) -> Optional[str]:
    """The script label of a non-Latin letter, or None for Latin letters."""
    name = unicodedata.name(char, "")
    if name.startswith("LATIN") or not name:
        return None
    for prefix, label in SCRIPTS:
        if name.startswith(prefix):
            return label
    return "non-Latin"


def _has_diacritic(char: str) -> bool:
    return any(unicodedata.combining(c) for c in unicodedata.normalize("NFD", char))


def detect(text: str) -> Optional[str]:
    """The language or script `text` is written in when it is clearly not English.

    None means English, or too little to tell (digits, emoji, an acronym): those go
    to the classifier as usual.
    """
    letters = [char for char in text if char.isalpha()]
    if not letters:
        return None
    scripts: Dict[str, int] = {}
    for char in letters:
        label = _script_of(char)
        if label is not None:
            scripts[label] = scripts.get(label, 0) + 1
    non_latin = sum(scripts.values())
    if non_latin / len(letters) >= NON_LATIN_SHARE:
        return max(scripts, key=lambda label: scripts[label])

    words = _WORD.findall(text.lower())
    if not words:
        return None
    english = sum(word in ENGLISH_WORDS for word in words)
    hits = {
        language: sum(word in vocabulary for word in words)
        for language, vocabulary in FUNCTION_WORDS.items()
    }
    language = max(hits, key=lambda name: hits[name])
    best = hits[language]
    if best >= 2 and best >= 2 * english:
        return language
    latin = [char for char in letters if _script_of(char) is None]
    accented = sum(_has_diacritic(char) for char in latin)
    # Diacritics or inverted marks are evidence enough with one foreign function word,
    # as long as English words do not dominate.
    if best >= 1 and best > english and (accented or any(m in text for m in SPANISH_MARKS)):
        return language
    if english == 0 and len(words) >= 2 and accented / len(latin) >= DIACRITIC_SHARE:
        return language if best else "non-English"
    return None
