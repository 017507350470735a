//! The README's promises stay true: the two set-up commands and every key the dashboard knows.

use cutover::app::keys::KEY_HELP;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md")
}

#[test]
fn readme_lists_every_key() {
    let readme = readme();
    for (key, what) in KEY_HELP {
        // A continuation line of the help has no key of its own.
        let row = if key.is_empty() {
            format!("|  | {what} |")
        } else {
            format!("| `{key}` | {what} |")
        };
        assert!(readme.contains(&row), "README.md lacks the key row: {row}");
    }
}

#[test]
fn readme_gives_the_two_set_up_commands() {
    let readme = readme();
    assert!(readme.contains("cargo run --release -- demo"));
    let ci =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/run")).expect(".ci/run");
    assert!(readme.contains("cargo test --locked") && ci.contains("cargo test --locked"));
}
