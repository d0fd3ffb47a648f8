//! Persistent storage on NOR flash.
#![no_std]
