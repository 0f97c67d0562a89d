//! Compiles every `.proto` under `public/` and `internal/` to Rust.
//!
//! `protox` is a protobuf compiler written in Rust, so a build needs no
//! `protoc` installed on the machine. Two descriptor sets are written to
//! `OUT_DIR` as well: the public packages (served by gRPC reflection at the
//! edge) and everything (for tools and tests).

use std::path::{Path, PathBuf};

use prost::Message;

fn proto_files(root: &Path, found: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(root)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", root.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            proto_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            found.push(path);
        }
    }
}

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));
    let public_root = manifest_dir.join("public");
    let internal_root = manifest_dir.join("internal");
    println!("cargo:rerun-if-changed={}", public_root.display());
    println!("cargo:rerun-if-changed={}", internal_root.display());

    let mut public_files = Vec::new();
    proto_files(&public_root, &mut public_files);
    let mut internal_files = Vec::new();
    proto_files(&internal_root, &mut internal_files);
    let all_files: Vec<PathBuf> = public_files.iter().chain(internal_files.iter()).cloned().collect();
    for file in &all_files {
        println!("cargo:rerun-if-changed={}", file.display());
    }

    let includes = [public_root.clone(), internal_root.clone()];
    let all = protox::compile(&all_files, &includes).expect("proto files compile");
    let public = protox::compile(&public_files, [public_root.clone()]).expect("public proto files compile");

    std::fs::write(out_dir.join("rustbill_public_descriptor.bin"), public.encode_to_vec())
        .expect("write public descriptor set");
    std::fs::write(out_dir.join("rustbill_all_descriptor.bin"), all.encode_to_vec())
        .expect("write full descriptor set");

    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(all)
        .expect("generate Rust code from protos");
}
