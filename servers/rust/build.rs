//! Bakes into the binary what /health reports: the rustc that compiled it and the versions of
//! the crates it serves with, as Cargo.lock resolved them.

use std::{env, fs, path::Path, process::Command};

fn main() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.split_whitespace().nth(1).map(str::to_owned))
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=BATTLE_RUSTC_VERSION={version}");

    let lock_path = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap()).join("Cargo.lock");
    let lock = fs::read_to_string(&lock_path).unwrap_or_default();
    for (krate, var) in [("mongodb", "BATTLE_MONGODB_VERSION"), ("hyper", "BATTLE_HYPER_VERSION")] {
        println!("cargo:rustc-env={var}={}", locked_version(&lock, krate));
    }
    println!("cargo:rerun-if-changed=Cargo.lock");
    println!("cargo:rerun-if-changed=build.rs");
}

/// The version of `krate` in Cargo.lock: the line after its `name = "..."`.
fn locked_version(lock: &str, krate: &str) -> String {
    let name = format!("name = \"{krate}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == name {
            if let Some(v) = lines.next().and_then(|l| l.trim().strip_prefix("version = ")) {
                return v.trim_matches('"').to_owned();
            }
        }
    }
    "unknown".into()
}
