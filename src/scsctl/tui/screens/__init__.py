"""Screens: connect, main, and the dialogs (each with the STOP button and the footer's F2)."""
