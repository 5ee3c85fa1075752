//! Apply: pays a plan exactly once through chunked batch transfers.
