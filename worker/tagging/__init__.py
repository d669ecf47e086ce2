"""Tagging of transcripts and complaints: the lexicon rules, the learned sentiment model, each company's
own model, personal data, and the language of written text."""
