"""Domain logic of the spine-clinic FAQ assistant.

Everything a patient is told comes from here: the fact store (`facts`), how an
answer is put together (`answers`), the red-flag safety layer (`safety`), clinic
settings (`settings`) and the project's own spaCy pipeline (`spacy_pipeline`).
The Rasa action server (`actions/`) only calls into this package.
"""
