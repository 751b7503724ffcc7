//! Property files as the commands read them: VNN-LIB, or a robustness set (many image balls
//! in one compact file), and `birdnn balls`, which writes a set's balls as VNN-LIB for
//! other verifiers.

use birdnn::formats;
use birdnn::images::demo::Gallery;
use birdnn::images::spec_file::{is_robustness_set, read_robustness_set, write_vnnlib};
use birdnn::network::Network;
use birdnn::property::Property;
use std::path::{Path, PathBuf};

/// Every property of `paths` for `net`: a VNN-LIB file is one property, a robustness set
/// one per image.
pub fn load_properties(
    paths: &[PathBuf],
    net: &Network,
) -> Result<Vec<Property>, Box<dyn std::error::Error>> {
    let mut properties = Vec::new();
    for path in paths {
        let name = path.display().to_string();
        let bytes = formats::read_file(path)?;
        let text = formats::text(&name, &bytes)?;
        if is_robustness_set(text) {
            properties.extend(read_robustness_set(
                &name,
                text,
                net.input_size(),
                net.output_size(),
            )?);
        } else {
            properties.push(formats::read_property(&name, &bytes)?);
        }
    }
    Ok(properties)
}

/// Writes ball `k` of the set as `OUT/ball_K_label_L.vnnlib` (the VNN-COMP mnistfc form)
/// and prints each file's path.
pub fn write_balls(set_path: &Path, out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let name = set_path.display().to_string();
    let bytes = formats::read_file(set_path)?;
    let set = Gallery::parse(formats::text(&name, &bytes)?).map_err(|e| format!("{name}: {e}"))?;
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    for k in 0..set.images.len() {
        let spec = set.spec(k);
        let file = out.join(format!("ball_{k}_label_{}.vnnlib", spec.label));
        std::fs::write(&file, write_vnnlib(&spec, set.classes)?)
            .map_err(|e| format!("{}: {e}", file.display()))?;
        println!("{}", file.display());
    }
    Ok(())
}
