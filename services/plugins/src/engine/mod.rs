//! The Rune engine.
