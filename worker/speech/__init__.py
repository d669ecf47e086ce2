"""Speech: the Whisper model's installation from its packages, its conversion for openai-whisper, the engines."""
