"""Scripted patient questions for the load test and the end-to-end timings.

Real questions over every kind of turn the assistant handles: procedure answers with
and without a named procedure (follow-ups such as "how long does it last?" rely on the
conversation's slot), comparisons, small talk, hand-over, subjects the articles do not
cover, an unrelated question and one red flag. The texts are distinct, so a
conversation's tracker can be matched message by message against what was sent.
"""

from __future__ import annotations

import random
from typing import List

PATIENT_QUESTIONS: List[str] = [
    "hi there",
    "what is a medial branch block?",
    "how long does it last?",
    "does it hurt?",
    "what's the difference between a facet joint injection and a medial branch block?",
    "which one lasts longer?",
    "what medicine do they put in a facet injection?",
    "do they use an x-ray to guide the needle?",
    "how long is the recovery after radiofrequency ablation?",
    "what are the side effects?",
    "how do i know if i can get rfa?",
    "what happens after the nerve block?",
    "why do i need two blocks before the ablation?",
    "what if the injection doesn't help my pain?",
    "is a facet injection or a nerve block better for lower back pain?",
    "will my insurance pay for this?",
    "what are facet joints anyway?",
    "what is facet joint syndrome?",
    "what are the medial branch nerves?",
    "is back pain like mine common?",
    "are you a real person?",
    "can i talk to someone at the clinic?",
    "should i get the injection or wait and see?",
    "can i drive home afterwards?",
    "what's the weather going to be like tomorrow?",
    "how long does the numbness last after an mbb?",
    "is rfa permanent?",
    "can i go back to work the next day?",
    "does the facet shot have steroids in it?",
    "how soon will i feel better?",
    "what is the point of a diagnostic block?",
    "how do they burn the nerves?",
    "is it normal to be sore for a few days?",
    "my leg has been getting weaker since the injection",
    "thank you, that helps",
    "ok bye",
]


def conversation_script(rng: random.Random, messages: int) -> List[str]:
    """`messages` distinct questions in a random order drawn from `rng`.

    Longer scripts than the pool reuse questions with a round marker ("(2)") so
    every text in a conversation stays unique and ordering stays checkable.
    """
    script: List[str] = []
    round_number = 1
    while len(script) < messages:
        batch = rng.sample(PATIENT_QUESTIONS, k=min(len(PATIENT_QUESTIONS), messages - len(script)))
        if round_number > 1:
            batch = [f"{text} ({round_number})" for text in batch]
        script.extend(batch)
        round_number += 1
    return script
