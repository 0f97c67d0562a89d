//! Script values → plain data. Nothing Rune-typed leaves the engine: what a
//! function returned is converted into [`RawReturn`] (serde_json payloads)
//! on the thread that ran it, inside its memory limit.

use rune::TypeHash;
use rune::Value;
use rune::runtime::{Bytes, Object, OwnedTuple, Vec as RuneVec};
use serde_json::{Map, Value as Json};

use super::output::RawReturn;

/// Nesting deeper than this is refused (it also stops self-referencing
/// values, which Rune allows, from recursing forever).
const MAX_DEPTH: usize = 128;

/// What a contract function returned: `()` → [`RawReturn::Unit`],
/// `Ok(x)`/`Err(e)` → [`RawReturn::Ok`]/[`RawReturn::Err`], anything else
/// (strings, objects, vectors, numbers, `Some`/`None`) → [`RawReturn::Value`].
pub(crate) fn to_raw_return(value: &Value) -> Result<RawReturn, String> {
    if value.into_unit().is_ok() {
        return Ok(RawReturn::Unit);
    }
    if value.type_hash() == <Result<Value, Value> as TypeHash>::HASH {
        let result = value.borrow_ref::<Result<Value, Value>>().map_err(|e| e.to_string())?;
        return match &*result {
            Ok(ok) => Ok(RawReturn::Ok(to_json(ok, 1)?)),
            Err(err) => Ok(RawReturn::Err(to_json(err, 1)?)),
        };
    }
    Ok(RawReturn::Value(to_json(value, 0)?))
}

/// JSON for a script value: `()`/`None` → `null`, `Some(x)` → `x`,
/// objects → objects, vectors and tuples → arrays, bytes → array of
/// numbers, nested `Ok(x)`/`Err(e)` → `{"Ok": x}`/`{"Err": e}`.
pub(crate) fn to_json(value: &Value, depth: usize) -> Result<Json, String> {
    if depth > MAX_DEPTH {
        return Err(format!("value nested deeper than {MAX_DEPTH} levels"));
    }
    let next = depth + 1;
    let hash = value.type_hash();
    if value.into_unit().is_ok() {
        return Ok(Json::Null);
    }
    if hash == <Option<Value> as TypeHash>::HASH {
        let option = value.borrow_ref::<Option<Value>>().map_err(|e| e.to_string())?;
        return match &*option {
            Some(inner) => to_json(inner, next),
            None => Ok(Json::Null),
        };
    }
    if hash == <Result<Value, Value> as TypeHash>::HASH {
        let result = value.borrow_ref::<Result<Value, Value>>().map_err(|e| e.to_string())?;
        let (tag, inner) = match &*result {
            Ok(inner) => ("Ok", inner),
            Err(inner) => ("Err", inner),
        };
        let mut map = Map::new();
        map.insert(tag.to_string(), to_json(inner, next)?);
        return Ok(Json::Object(map));
    }
    if hash == <rune::alloc::String as TypeHash>::HASH {
        let text = value.borrow_string_ref().map_err(|e| e.to_string())?;
        return Ok(Json::String(text.to_string()));
    }
    if hash == <Object as TypeHash>::HASH {
        let object = value.borrow_ref::<Object>().map_err(|e| e.to_string())?;
        let mut map = Map::new();
        for (key, item) in object.iter() {
            map.insert(key.as_str().to_string(), to_json(item, next)?);
        }
        return Ok(Json::Object(map));
    }
    if hash == <RuneVec as TypeHash>::HASH {
        let items = value.borrow_ref::<RuneVec>().map_err(|e| e.to_string())?;
        return items.iter().map(|item| to_json(item, next)).collect::<Result<Vec<_>, _>>().map(Json::Array);
    }
    if hash == <OwnedTuple as TypeHash>::HASH {
        let items = value.borrow_ref::<OwnedTuple>().map_err(|e| e.to_string())?;
        return items.iter().map(|item| to_json(item, next)).collect::<Result<Vec<_>, _>>().map(Json::Array);
    }
    if hash == <Bytes as TypeHash>::HASH {
        let bytes = value.borrow_ref::<Bytes>().map_err(|e| e.to_string())?;
        return Ok(Json::Array(bytes.as_slice().iter().map(|b| Json::from(*b)).collect()));
    }
    // Booleans, integers, floats, chars: Rune's own serde implementation.
    // It refuses functions, futures, structs and other external values.
    serde_json::to_value(value).map_err(|e| format!("cannot turn a {} into data: {e}", value.type_info()))
}
