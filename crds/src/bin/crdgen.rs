//! Prints the CRD YAML, or with `--write` regenerates `crds/yaml/` and `charts/sluice/crds/`.
//! With `--check` it fails if the committed files differ (CI and a test run this).

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let arg = std::env::args().nth(1);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    match arg.as_deref() {
        None => {
            for (_, yaml) in sluice_crds::crdgen::render() {
                print!("---\n{yaml}");
            }
            ExitCode::SUCCESS
        }
        Some("--write") => match sluice_crds::crdgen::write(&root) {
            Ok(paths) => {
                for p in paths {
                    println!("wrote {}", p.display());
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("crdgen: {e}");
                ExitCode::FAILURE
            }
        },
        Some("--check") => match sluice_crds::crdgen::drift(&root) {
            Ok(drifted) if drifted.is_empty() => ExitCode::SUCCESS,
            Ok(drifted) => {
                for p in drifted {
                    eprintln!(
                        "crdgen: {} is out of date; run `cargo run -p sluice-crds --bin crdgen -- --write`",
                        p.display()
                    );
                }
                ExitCode::FAILURE
            }
            Err(e) => {
                eprintln!("crdgen: {e}");
                ExitCode::FAILURE
            }
        },
        Some(other) => {
            eprintln!("usage: crdgen [--write|--check] (got {other:?})");
            ExitCode::from(2)
        }
    }
}
