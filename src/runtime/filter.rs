//! Filters on catalogue metadata, shared by `recommend()` and `pickOffers()`.

use crate::catalog::{ItemMeta, category_matches};
use crate::error::{Error, Result};

use super::engine::Engine;
use super::options::Filter;

impl Engine {
    pub(super) fn meta(&self, row: usize) -> Option<&ItemMeta> {
        self.catalog
            .as_ref()
            .and_then(|c| c.get(row.wrapping_sub(1)))
    }

    /// Whether a row passes a filter. Filters on metadata need a catalogue.
    pub(super) fn passes(&self, row: usize, f: &Filter) -> Result<bool> {
        let needs_meta = f.categories.is_some()
            || f.brands.is_some()
            || f.min_price.is_some()
            || f.max_price.is_some()
            || f.in_stock.is_some();
        if !needs_meta {
            return Ok(true);
        }
        let Some(m) = self.meta(row) else {
            return Err(Error::InvalidArgument(
                "filters need item metadata: train with --catalog or pass `catalog` to load()"
                    .into(),
            ));
        };
        Ok(f.categories
            .as_ref()
            .is_none_or(|cs| cs.iter().any(|c| category_matches(&m.category, c)))
            && f.brands
                .as_ref()
                .is_none_or(|bs| bs.iter().any(|b| b.eq_ignore_ascii_case(&m.brand)))
            && f.min_price.is_none_or(|p| m.price.is_some_and(|x| x >= p))
            && f.max_price.is_none_or(|p| m.price.is_some_and(|x| x <= p))
            && f.in_stock.is_none_or(|want| m.in_stock == want))
    }

    pub(super) fn check_filter(f: &Filter) -> Result<()> {
        if let (Some(lo), Some(hi)) = (f.min_price, f.max_price)
            && lo > hi
        {
            return Err(Error::InvalidArgument(format!(
                "minPrice {lo} is above maxPrice {hi}"
            )));
        }
        Ok(())
    }
}
