"""The customer room's kiosk: its front end (index.html, player.js, sw.js, kiosk.css), served by
webapp/views/kiosk.py, and the launcher for a real screen (launcher/). No Python logic here."""

from pathlib import Path

#: Where the front-end files are, installed or not.
FILES = Path(__file__).resolve().parent
