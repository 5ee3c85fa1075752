//! Resolves which provider and state folder a command uses.
