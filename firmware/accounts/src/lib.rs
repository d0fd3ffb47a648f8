//! Accounts, roles and lockout for wsbmc (issue 15): the sans-IO core.
//!
//! Nothing here reads a clock, a random number generator, the network or flash. Time comes in
//! as monotonic milliseconds, salts and device seeds as bytes, and every change says which
//! record to persist and which audit event to record. That keeps the rules testable here and
//! the same on the three images.
//!
//! - [`role`]: the roles (Administrator, Operator, ReadOnly), their privileges (one table) and
//!   [`authorize`], WinRM's read/write/execute rule plus the per-class rules.
//! - [`table`]: up to 16 accounts with validated names and passwords, the last-Administrator
//!   rule, and login in two steps ([`AccountTable::begin_login`] → [`Attempt::derive`] →
//!   [`AccountTable::finish_login`]) so PBKDF2 can run off the request executor and an
//!   unknown name cannot skip the dummy verification.
//! - [`lockout`]: N failures within a window lock an account (any account) for a period.
//! - [`audit`]: typed audit events and their IPMI Session Audit (2Ah) SEL form.
//! - [`persist`]: the versioned CBOR records (one per account slot, one for the settings) and
//!   the migration of the single account stored before issue 15.
//! - [`provision`]: the unprovisioned state and its per-device one-time secret.
//!
//! # No universal default password
//!
//! A device whose table is empty is *unprovisioned*: [`provision::allows`] lets through
//! Identify and the provisioning path only. The path is unlocked by a secret derived as
//! HMAC-SHA-256(device seed, "wsbmc-provisioning" ‖ counter), shown by the image on its serial
//! console (physical access) and typed in as the password of the reserved user
//! [`PROVISIONING_USER`] on a `CreateAccount` that makes the first Administrator. This meets
//! "no universal default password" (California SB-327 §1798.91.04(b)(1), UK PSTI Act
//! Schedule 1 §1) because:
//! - the secret differs per device: the seed is a per-device secret (generated from the OS or
//!   hardware RNG on first boot and kept in the state directory / flash store, or written at
//!   manufacture), never a MAC address or serial number, which are public;
//! - it never leaves the device except on its own serial console, never on the kernel command
//!   line or the network;
//! - it is single-use: provisioning bumps the counter (persisted with the settings), so the
//!   secret shown before no longer matches, and once an account exists the path is closed;
//! - it is verified in constant time and, at 120 bits, is not worth guessing even without the
//!   per-source back-off http applies to every failed login.
//!
//! The simulated board keeps its development account: the Linux binary creates it as today.

#![no_std]

extern crate alloc;

pub mod audit;
pub mod lockout;
pub mod password;
#[cfg(feature = "persist")]
pub mod persist;
pub mod provision;
pub mod role;
pub mod table;

pub use audit::{AuditEvent, AuditKind, SelEventData, sel_event};
pub use lockout::{LockoutPolicy, PolicyError};
pub use password::{DigestHa1, PasswordRecord, Scheme};
#[cfg(feature = "persist")]
pub use persist::{Loaded, PersistError, StoredSettings, StoredSlot};
pub use provision::{ProvisionError, Provisioned, ProvisioningSecret};
pub use role::{Action, Denied, Operation, Privilege, Role, authorize};
pub use table::{
    Account, AccountError, AccountTable, Attempt, Change, Derived, Identity, LoginOutcome,
    MAX_ACCOUNTS, NameError, NewPassword, PROVISIONING_USER, PasswordError, Refused, Write,
};
