//! NumPy's files as values: an `.npy` file holds one array (`--at W1=@w1.npy`), an `.npz`
//! archive several under their names (`--values weights.npz`, as `np.savez` writes them). Each
//! array's shape is checked against the name's declaration before its numbers are read, and
//! each number becomes a value as if written in a values file: float64 as the shortest decimal
//! that reads back to it, float32 as the shortest decimal that reads back to the float32 (what `0.1` saved
//! in float32 was meant to be), its float64 that decimal's, integers as they are. The bytes arrive read; this module does no
//! I/O.

use std::io::{Cursor, Read};

use npyz::{NpyFile, Order};

use crate::core::error::{Diagnostic, Result};
use crate::core::model::{Given, Model};
use crate::core::shape::Shape;

/// Whether the bytes are an `.npz` archive (a zip file) rather than text or an `.npy` file.
pub fn is_npz(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

/// Whether the bytes are an `.npy` file (its magic string).
pub fn is_npy(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x93NUMPY")
}

/// The values of the array in an `.npy` file, for the name `name` of the program. `file` is
/// the file's name as reports show it.
pub fn npy_values(model: &Model, file: &str, name: &str, bytes: &[u8]) -> Result<Vec<Given>> {
    let npy = NpyFile::new(bytes).map_err(|e| unreadable(file, None, &e))?;
    array_values(model, file, name, None, npy)
}

/// The values of every array in an `.npz` archive (a zip file of `.npy` files, stored or
/// deflated), each under its name in the archive.
pub fn npz_values(model: &Model, file: &str, bytes: &[u8]) -> Result<Vec<Given>> {
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| unreadable(file, None, &e))?;
    let mut out = Vec::new();
    for index in 0..archive.len() {
        let member = archive
            .by_index(index)
            .map_err(|e| unreadable(file, None, &e))?;
        let member_name = member.name().map_err(|e| unreadable(file, None, &e))?;
        let Some(name) = member_name.strip_suffix(".npy").map(str::to_string) else {
            continue;
        };
        // Only the numbers the declared shape holds are read: a member that claims more is
        // refused by its header before any of them is inflated.
        let npy = NpyFile::new(member).map_err(|e| unreadable(file, Some(&name), &e))?;
        out.extend(array_values(model, file, &name, Some(&name), npy)?);
    }
    if out.is_empty() {
        return Err(Diagnostic::new(format!("`{file}` holds no arrays"))
            .with_help("write it with `np.savez(\"weights.npz\", W1=W1, b1=b1)`"));
    }
    Ok(out)
}

fn unreadable(file: &str, array: Option<&str>, e: &dyn std::fmt::Display) -> Diagnostic {
    let what = match array {
        Some(name) => format!("the array `{name}` in `{file}`"),
        None => format!("`{file}`"),
    };
    Diagnostic::new(format!("cannot read {what} as NumPy data: {e}"))
        .with_help("write arrays with `np.save` (.npy) or `np.savez` (.npz)")
}

/// The values of one array for the program's name `name`, its shape checked first.
fn array_values<R: Read>(
    model: &Model,
    file: &str,
    name: &str,
    in_archive: Option<&str>,
    npy: NpyFile<R>,
) -> Result<Vec<Given>> {
    let place = match in_archive {
        Some(array) => format!("`{array}` in `{file}`"),
        None => format!("`{file}`"),
    };
    // The entries the name has, row-major: an array's, or a scalar program's name's one.
    let (shape, entries) = match model.array(name) {
        Some(array) => (array.shape, array.entries.clone()),
        None => match model.lookup(name) {
            Some(s) if model.arrays.is_empty() => (Shape::SCALAR, vec![s]),
            _ => {
                return Err(Diagnostic::new(format!(
                    "{place} is named `{name}`, which is not a name of the program"
                ))
                .with_help("name each array after the program's name it gives values to"));
            }
        },
    };
    let dims = npy.shape().to_vec();
    let given = match dims.as_slice() {
        [] => Some(Shape::SCALAR),
        // A flat array fills a vector, whichever way it stands (as a flat list does).
        [n] if shape.rows == 1 => u32::try_from(*n).ok().map(|n| Shape::new(1, n)),
        [n] => u32::try_from(*n).ok().map(|n| Shape::new(n, 1)),
        [r, c] => u32::try_from(*r)
            .ok()
            .zip(u32::try_from(*c).ok())
            .map(|(r, c)| Shape::new(r, c)),
        _ => None,
    };
    let numpy_shape = match dims.as_slice() {
        [one] => format!("({one},)"),
        dims => format!(
            "({})",
            dims.iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    if given != Some(shape) {
        return Err(Diagnostic::new(format!(
            "{place} has NumPy shape {numpy_shape}, but `{name}` is declared {shape}"
        ))
        .with_help(format!(
            "save `{name}` with shape ({}, {}){}",
            shape.rows,
            shape.cols,
            if shape.rows == 1 || shape.cols == 1 {
                format!(" or ({},)", shape.len())
            } else {
                String::new()
            }
        )));
    }
    let order = npy.order();
    let numbers = numbers(npy).map_err(|e| unreadable(file, in_archive, &e))?;
    if numbers.len() != entries.len() {
        return Err(unreadable(
            file,
            in_archive,
            &"the data is shorter than its shape",
        ));
    }
    (0..entries.len())
        .map(|k| {
            // Fortran order stores column by column.
            let stored = match order {
                Order::C => k,
                Order::Fortran => {
                    let (i, j) = (k / shape.cols as usize, k % shape.cols as usize);
                    j * shape.rows as usize + i
                }
            };
            let (text, value) = numbers[stored].clone();
            if !value.is_finite() {
                return Err(Diagnostic::new(format!(
                    "`{}` in {place} is {text}, not a number chainrule can evaluate at",
                    model.name(entries[k])
                )));
            }
            Ok(Given {
                sym: entries[k],
                text,
                value,
            })
        })
        .collect()
}

/// Every number of the array, in the order stored, as its decimal text and its float64.
fn numbers<R: Read>(npy: NpyFile<R>) -> std::io::Result<Vec<(String, f64)>> {
    fn all<T: npyz::Deserialize, R: Read>(
        reader: npyz::NpyReader<T, R>,
        each: impl Fn(T) -> (String, f64),
    ) -> std::io::Result<Vec<(String, f64)>> {
        reader.map(|x| x.map(&each)).collect()
    }
    let npy = match npy.try_data::<f64>() {
        Ok(r) => return all(r, |x| (format!("{x:?}"), x)),
        Err(npy) => npy,
    };
    let npy = match npy.try_data::<f32>() {
        // float64 of the decimal, as a values file's `0.1` is, not of the float32.
        Ok(r) => {
            return all(r, |x| {
                let text = format!("{x:?}");
                let value = text.parse().unwrap_or(f64::from(x));
                (text, value)
            });
        }
        Err(npy) => npy,
    };
    let npy = match npy.try_data::<i64>() {
        Ok(r) => return all(r, |x| (x.to_string(), x as f64)),
        Err(npy) => npy,
    };
    let npy = match npy.try_data::<i32>() {
        Ok(r) => return all(r, |x| (x.to_string(), f64::from(x))),
        Err(npy) => npy,
    };
    let npy = match npy.try_data::<u8>() {
        Ok(r) => return all(r, |x| (x.to_string(), f64::from(x))),
        Err(npy) => npy,
    };
    match npy.try_data::<bool>() {
        Ok(r) => all(r, |x| (u8::from(x).to_string(), f64::from(u8::from(x)))),
        Err(npy) => Err(std::io::Error::other(format!(
            "its numbers are of type `{}`; chainrule reads floats, integers and booleans",
            npy.dtype().descr()
        ))),
    }
}
