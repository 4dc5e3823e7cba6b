//! Objects of the document must be JSON objects. serde's derived structs also accept
//! a JSON array (its items taken as the fields in order), so `spec: [null]` was read
//! as an empty spec, admitted, and given a patch that cannot apply (found by
//! fuzzing). Fields holding a struct go through these, which ask for a map.

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use std::fmt;
use std::marker::PhantomData;

/// A `T` read from a JSON object only.
pub struct MapOnly<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for MapOnly<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for MapVisitor<T> {
            type Value = T;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }

        deserializer
            .deserialize_map(MapVisitor(PhantomData))
            .map(MapOnly)
    }
}

/// For `Option<T>` fields: `#[serde(default, deserialize_with = "map_only::opt")]`.
pub fn opt<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    Option::<MapOnly<T>>::deserialize(d).map(|o| o.map(|m| m.0))
}

/// For `Option<Vec<T>>` fields of objects.
pub fn opt_vec<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Vec<T>>, D::Error> {
    Option::<Vec<MapOnly<T>>>::deserialize(d)
        .map(|o| o.map(|v| v.into_iter().map(|m| m.0).collect()))
}

/// For `Vec<T>` fields of objects.
pub fn vec<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Vec::<MapOnly<T>>::deserialize(d).map(|v| v.into_iter().map(|m| m.0).collect())
}

/// For `T` fields.
pub fn plain<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    MapOnly::<T>::deserialize(d).map(|m| m.0)
}
