"""Understanding: the Rasa NLU components and what they use (spaCy pipeline, sentence encoder,
answer planner)."""
