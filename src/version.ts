// The Rivet version string, shared by every layer (contract constant).
export const RIVET_VERSION = "0.1.0";
