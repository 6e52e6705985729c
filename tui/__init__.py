"""tui-mail: a keyboard-driven terminal mail reader for IMAP."""

__version__ = "0.1.0"
