"""The fake Telegram Bot API, split by what it fakes; ``tests.fake_botapi`` assembles it."""
