"""Écoute's worker: claims jobs from the queue (webapp.jobs) and runs their handlers."""
