//! The System Event Log.
#![no_std]
