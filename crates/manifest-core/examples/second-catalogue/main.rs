//! `cargo run -p manifest-core --example second-catalogue -- <dir>`: renders another company's
//! catalogue ([`catalogue`]) through the same core into `<dir>` (its `generated/` tree), proving
//! the core holds no fact of Lomash Wood's. The library renders; this binary writes.

mod catalogue;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: second-catalogue <dir>");
        return ExitCode::from(2);
    };
    let files = match manifest_core::render(&catalogue::catalogue()) {
        Ok(files) => files,
        Err(errors) => {
            eprintln!("error: the second catalogue is invalid:\n{errors}");
            return ExitCode::FAILURE;
        }
    };
    for file in &files {
        let path = dir.join(&file.path);
        let written =
            path.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| std::fs::write(&path, &file.contents));
        if let Err(e) = written {
            eprintln!("error: writing {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    println!("Wrote {} files to {}", files.len(), dir.display());
    ExitCode::SUCCESS
}
