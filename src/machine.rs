//! TODO: machine
