"""Running Rasa and the action server: the launcher, the one guarded place for Rasa's private
names, the action server, health, log privacy and start-up output."""
