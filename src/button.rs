//! TODO: button
