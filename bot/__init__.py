"""Majlis runtime: language, handoff, agent desk, storage."""
