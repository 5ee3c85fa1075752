//! Plans: the diff of desired payments against state and the provider.
