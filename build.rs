// `sqlx::migrate!` embeds src/store/migrations at compile time: rebuild when one is added.
fn main() {
    println!("cargo:rerun-if-changed=src/store/migrations");
}
