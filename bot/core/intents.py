"""The NLU intents the code itself acts on, named once.

domain.yml declares every intent; most are only data (a topic's `intent` in
data/facts.yml). These few are read by the NLU components, the answer planner, the
context reading and the responder, so their names live here and nowhere else.
"""

from __future__ import annotations

RED_FLAG = "red_flag"
FALLBACK = "nlu_fallback"
NON_ENGLISH = "non_english"
OUT_OF_SCOPE = "out_of_scope"
# In the domain but not in the fact store: the answer planner's "the articles don't say".
UNCOVERED = "ask_uncovered"
PERSONAL_ADVICE = "ask_personal_advice"
# "and the other one?": the last topic for another procedure.
FOLLOW_UP = "ask_follow_up"
# "why is that?", "what do you mean?": the last topic again, in full.
ELABORATE = "ask_more"

# The answer planner's reason for a personal question it answered from a close fact ("the
# block worked for 6 hours and now it's back, did it fail?"): the responder says first that
# only the care team can decide for the patient.
PERSONAL_FACT_REASON = "personal, fact match"
# The answer planner's reason when a message it could not read asks the patient's own
# decision ("can I still do the injection?"): care team, unless read with the question
# before it ("what if it doesn't help?" - "so what else could it be") it is a topic.
PERSONAL_CUE_REASON = "personal cue"
