"""The Textual TUI. Only this package imports Textual or Rich."""
