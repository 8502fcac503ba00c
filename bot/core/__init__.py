"""The Rasa-free core: facts, answers, safety and settings. Nothing here imports Rasa or Sanic
(tests/test_layout.py checks), so it runs in any process and in plain unit tests."""
