"""Find warning signs in a message and judge whether they are happening now, on medspaCy.

medspaCy's TargetMatcher finds the concepts of `data/safety.yml`; its ConText component marks
each finding with the modifiers of `data/safety_context.yml` (negated, hypothetical, past, ...).
`judge()` turns those marks into one of three answers, erring towards alarm: a finding is
present unless a modifier clearly says otherwise.

spaCy and medspaCy are imported when the first detector is built, not at import time: the
action server and the tests of the pure-data parts never load them.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from bot.core.safety.rules import ModifierRule, SafetyRules

PRESENT = "present"
MENTIONED = "mentioned"
ABSENT = "absent"

# Categories that take a finding out of "present" unless a "now" cue is near it.
_ABSENT_UNLESS_NOW = (("HISTORICAL", "past"), ("CHRONIC", "chronic"))


@dataclass(frozen=True)
class Finding:
    """One warning sign found in a message, and how it was judged."""

    concept: str
    advice: str
    status: str
    reason: str


@dataclass(frozen=True)
class Assessment:
    """Everything the red-flag layer concluded about one message."""

    findings: Tuple[Finding, ...]
    urgency: Optional[str]
    advice: str
    safety_net: str

    @property
    def status(self) -> str:
        """'present' (alarm), 'mentioned' (answer + safety net) or 'none'."""
        if self.urgency is not None:
            return PRESENT
        if any(finding.status == MENTIONED for finding in self.findings):
            return MENTIONED
        return "none"

    def concepts(self, status: str) -> List[str]:
        """Distinct concept ids with that status, in order of appearance."""
        found = [finding.concept for finding in self.findings if finding.status == status]
        return list(dict.fromkeys(found))

    def summary(self) -> Dict[str, Any]:
        """What is kept with the message (parse data, logs): ids and kinds, never text."""
        return {
            "status": self.status,
            "urgency": self.urgency,
            "present": self.concepts(PRESENT),
            "mentioned": self.concepts(MENTIONED),
            "absent": self.concepts(ABSENT),
        }


NO_FINDINGS = Assessment(findings=(), urgency=None, advice="", safety_net="")


def normalise(text: str) -> str:
    """Straighten quotes, drop invisible characters and collapse spaces before matching."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u02bc", "'")
    text = re.sub(r"[\u200b-\u200f\u2060\ufeff]", "", text)
    return " ".join(text.split())


def from_word_start(pattern: str) -> str:
    """`pattern`, matching only from the start of a word: "hot" is no sign inside "shot",
    nor "I'll kill" inside "my back still kills me". A negation glued to its verb
    ("doesn't recognise me") may still start one."""
    return rf"(?:(?<![a-z0-9])|(?=n'?t\b))(?:{pattern})"


def _context_rules(rules: Sequence[ModifierRule]) -> List[Any]:
    from medspacy.context import ConTextRule

    built = []
    for rule in rules:
        options: Dict[str, Any] = {"direction": rule.direction, "max_scope": rule.max_scope}
        if rule.terminated_by:
            options["terminated_by"] = set(rule.terminated_by)
        if rule.allowed_types is not None:
            options["allowed_types"] = {name.upper() for name in rule.allowed_types}
        if rule.excluded_types is not None:
            options["excluded_types"] = {name.upper() for name in rule.excluded_types}
        for phrase in rule.phrases:
            built.append(ConTextRule(phrase, rule.category, **options))
        for pattern in rule.patterns:
            built.append(ConTextRule(pattern, rule.category, pattern=pattern, **options))
    return built


class Detector:
    """A medspaCy pipeline built from one version of the rules."""

    def __init__(self, rules: SafetyRules) -> None:
        import medspacy  # noqa: F401 - registers the medspaCy components and extensions
        import spacy
        from medspacy.target_matcher import TargetRule

        from bot.core.safety import regex_speedup

        regex_speedup.install()
        # The concepts are all regular expressions, so the TargetMatcher's token Matcher
        # stays empty and spaCy would warn about it (W036) on every message.
        warnings.filterwarnings("ignore", message=r".*\[W036\]", category=UserWarning)

        self.rules = rules
        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
        matcher = nlp.add_pipe(
            "medspacy_target_matcher", config={"result_type": "group", "prune": False}
        )
        matcher.add(
            [
                TargetRule(concept.id, concept.id, pattern=from_word_start(pattern))
                for concept in rules.concepts
                for pattern in concept.patterns
            ]
        )
        # prune_on_target_overlap: a trigger inside a finding ("no" in "my legs have no
        # strength", "not" in "can not lift my foot") is part of the symptom, not a negation of
        # it. medspaCy 1.3.1's own overlap test in ConTextModifier.modifies misses a trigger
        # that lies wholly inside the finding; pruning such triggers catches that case too.
        context = nlp.add_pipe(
            "medspacy_context",
            config={
                "rules": None,
                "span_attrs": None,
                "input_span_type": "group",
                "prune_on_target_overlap": True,
            },
        )
        context.add(_context_rules(rules.modifiers))
        self.nlp = nlp
        # Most messages hold no sign at all: one search with every concept's pattern
        # (the TargetMatcher's own flag, IGNORECASE) tells so before spaCy runs.
        self.any_sign = re.compile(
            "|".join(f"(?:{p})" for c in rules.concepts for p in c.patterns), re.IGNORECASE
        )

    def judge(self, categories: set, sentence: str, around: str, message: str) -> Tuple[str, str]:
        """Status and reason of one finding.

        `categories` are its ConText modifiers, `sentence` the lower-cased sentence holding
        it, `around` that sentence and the two after it, `message` the whole lower-cased message.
        """
        if "NEGATED" in categories:
            return ABSENT, "negated"
        if "RESOLVED" in categories:
            return ABSENT, "resolved"
        if "OTHER_SENSE" in categories:
            return ABSENT, "other sense"
        if categories & {"OTHER_PERSON", "ACQUAINTANCE"}:
            return self._judge_someone_else(categories, sentence, around, message)
        if self._now(around):
            return PRESENT, "now"
        for category, reason in _ABSENT_UNLESS_NOW:
            if category in categories:
                return ABSENT, reason
        if "HYPOTHETICAL" in categories:
            return MENTIONED, "hypothetical"
        if "QUESTION" in categories:
            if any(cue.search(around) for cue in self.rules.own_body_cues):
                return PRESENT, "own body"
            return MENTIONED, "question"
        return PRESENT, "affirmed"

    def _now(self, around: str) -> bool:
        """Whether `around` says the sign is happening now.

        A time word inside "I feel fine right now" tells the patient is well: it is blanked
        out first, so "what if I get a fever? I feel fine right now" stays a question.
        """
        for cue in self.rules.well_now_cues:
            around = cue.sub(" ", around)
        return any(cue.search(around) for cue in self.rules.now_cues)

    def _judge_someone_else(
        self, categories: set, sentence: str, around: str, message: str
    ) -> Tuple[str, str]:
        """A sign told of someone else: a carer's report now, or just a story."""
        cues = self.rules
        if any(cue.search(around) for cue in cues.right_now_cues):
            return PRESENT, "now"
        if categories & {"HISTORICAL", "CHRONIC"} or "ACQUAINTANCE" in categories:
            return ABSENT, "other person"
        if any(cue.search(message) for cue in cues.procedure_done_cues):
            return PRESENT, "carer"
        if any(cue.search(sentence) for cue in cues.other_now_cues):
            return PRESENT, "carer"
        return ABSENT, "other person"

    def assess(self, text: str) -> Assessment:
        """Judge every warning sign in `text`."""
        text = normalise(text)
        if not self.any_sign.search(text):
            return NO_FINDINGS
        doc = self.nlp(text)
        sentences = [sent.text.lower() for sent in doc.sents]
        starts = [sent.start for sent in doc.sents]
        message = doc.text.lower()
        findings = []
        for span in doc.spans.get("medspacy_spans", []):
            index = max(i for i, start in enumerate(starts) if start <= span.start)
            categories = {modifier.category for modifier in span._.modifiers}
            status, reason = self.judge(
                categories, sentences[index], " ".join(sentences[index : index + 3]), message
            )
            concept = self.rules.concept(span.label_)
            findings.append(Finding(concept.id, concept.advice, status, reason))
        return self.conclude(findings)

    def conclude(self, findings: Sequence[Finding]) -> Assessment:
        """Urgency, advice and safety net for a set of findings."""
        if not findings:
            return NO_FINDINGS
        present = self.rules.kinds([f.concept for f in findings if f.status == PRESENT])
        mentioned = self.rules.kinds([f.concept for f in findings if f.status == MENTIONED])
        return Assessment(
            findings=tuple(findings),
            urgency=present[0] if present else None,
            advice=self.rules.advice_for(present) if present else "",
            safety_net="" if present else self.rules.safety_net_for(mentioned),
        )
