//! The plot's geometry: the decision maps' grid sides and where the plotted square sits on
//! screen. Shared by the main map, the drawn box and the comparison's layers.

/// Side of the fine decision map, in cells and canvas pixels (CSS scales it up).
pub const MAP_SIDE: u32 = 256;
/// Side of the coarse map drawn first.
pub const COARSE_SIDE: u32 = 64;

/// Size of the plotted square on screen, CSS pixels.
pub const PLOT: f64 = 480.0;
/// Room for the axes around the plot.
pub const MARGIN_LEFT: f64 = 70.0;
pub const MARGIN_TOP: f64 = 10.0;
pub const MARGIN_RIGHT: f64 = 14.0;
pub const MARGIN_BOTTOM: f64 = 50.0;
