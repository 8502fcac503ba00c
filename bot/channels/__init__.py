"""Custom Rasa input channels: the web chat page, a signed webhook, and SMS."""
