// Types of the "apache-arrow" shim (apache_arrow.js): those of the package's ES modules.
export * from "apache-arrow-esm";
