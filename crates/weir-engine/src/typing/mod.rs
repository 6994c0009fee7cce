//! Arc TypingTransform: schema parsing and string-to-type conversion.
