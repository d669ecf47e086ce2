"""Audio with ffmpeg: a call's renditions (for Whisper, for playback) and peaks, and the room's clips."""
