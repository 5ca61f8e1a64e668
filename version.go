package ustack

// Version is the ustack release this code is. Builds from a VCS checkout
// report their revision through `ustack version` as well.
const Version = "0.1.0-dev"
