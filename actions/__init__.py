"""Rasa action server package: thin actions that ask `bot` what to say."""
