//! Scheduled runs of the manifests in a jobs folder.
