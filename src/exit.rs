//! The process exit codes of the command-line contract, shared by `apply`, `schedule` and
//! `cli`.

/// Success; with `plan --detailed-exitcode`, nothing to pay.
pub const OK: u8 = 0;
/// An error, an invalid manifest, a blocked plan or a rejected plan file.
pub const ERROR: u8 = 1;
/// `plan --detailed-exitcode` found something to pay.
pub const CHANGES: u8 = 2;
/// `apply` finished with failed payments.
pub const FAILED_PAYMENTS: u8 = 3;
/// `apply` stopped with payments whose outcome is still unknown; running it again reconciles them.
pub const UNKNOWN_OUTCOME: u8 = 4;
