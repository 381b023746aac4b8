//! Places on the Earth: great-circle distances, and British National Grid references (the DfE's
//! school register gives Easting/Northing) as WGS84 latitude and longitude.

/// The mean radius of the Earth, in kilometres.
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// A position in WGS84 degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatLon {
    pub lat: f64,
    pub lon: f64,
}

/// The great-circle (haversine) distance in kilometres.
pub fn distance_km(a: LatLon, b: LatLon) -> f64 {
    let (lat1, lat2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.lon - a.lon).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

/// Degrees of latitude and longitude that certainly contain every point within `km` of
/// `centre`: a box to look points up in an index before measuring them exactly.
pub fn bounding_box(centre: LatLon, km: f64) -> (LatLon, LatLon) {
    let dlat = (km / EARTH_RADIUS_KM).to_degrees();
    // Longitude degrees shrink towards the poles; near them the box spans every longitude.
    let cos = (centre.lat.abs() + dlat).min(89.9).to_radians().cos();
    let dlon = (dlat / cos).min(180.0);
    (LatLon { lat: centre.lat - dlat, lon: centre.lon - dlon }, LatLon { lat: centre.lat + dlat, lon: centre.lon + dlon })
}

struct Ellipsoid {
    a: f64,
    b: f64,
}

impl Ellipsoid {
    fn e2(&self) -> f64 {
        1.0 - (self.b * self.b) / (self.a * self.a)
    }
}

const AIRY_1830: Ellipsoid = Ellipsoid { a: 6_377_563.396, b: 6_356_256.909 };
const WGS84: Ellipsoid = Ellipsoid { a: 6_378_137.0, b: 6_356_752.314_2 };

/// A British National Grid reference (metres) as OSGB36 latitude and longitude: the inverse
/// transverse Mercator projection of the Ordnance Survey's "A guide to coordinate systems in Great
/// Britain", annex C.
fn grid_to_osgb36(easting: f64, northing: f64) -> LatLon {
    let Ellipsoid { a, b } = AIRY_1830;
    let (f0, lat0, lon0, n0, e0) = (0.999_601_271_7, 49f64.to_radians(), (-2f64).to_radians(), -100_000.0, 400_000.0);
    let e2 = AIRY_1830.e2();
    let n = (a - b) / (a + b);
    let (n2, n3) = (n * n, n * n * n);
    let meridional_arc = |lat: f64| {
        let (d, s) = (lat - lat0, lat + lat0);
        b * f0
            * ((1.0 + n + 1.25 * n2 + 1.25 * n3) * d - (3.0 * n + 3.0 * n2 + 21.0 / 8.0 * n3) * d.sin() * s.cos()
                + (15.0 / 8.0 * n2 + 15.0 / 8.0 * n3) * (2.0 * d).sin() * (2.0 * s).cos()
                - 35.0 / 24.0 * n3 * (3.0 * d).sin() * (3.0 * s).cos())
    };
    let mut lat = lat0;
    let mut m = 0.0;
    for _ in 0..20 {
        lat += (northing - n0 - m) / (a * f0);
        m = meridional_arc(lat);
        if (northing - n0 - m).abs() < 0.000_01 {
            break;
        }
    }
    let sin2 = lat.sin().powi(2);
    let nu = a * f0 / (1.0 - e2 * sin2).sqrt();
    let rho = a * f0 * (1.0 - e2) / (1.0 - e2 * sin2).powf(1.5);
    let eta2 = nu / rho - 1.0;
    let (t, sec) = (lat.tan(), 1.0 / lat.cos());
    let (t2, t4, t6) = (t * t, t.powi(4), t.powi(6));
    let vii = t / (2.0 * rho * nu);
    let viii = t / (24.0 * rho * nu.powi(3)) * (5.0 + 3.0 * t2 + eta2 - 9.0 * t2 * eta2);
    let ix = t / (720.0 * rho * nu.powi(5)) * (61.0 + 90.0 * t2 + 45.0 * t4);
    let x = sec / nu;
    let xi = sec / (6.0 * nu.powi(3)) * (nu / rho + 2.0 * t2);
    let xii = sec / (120.0 * nu.powi(5)) * (5.0 + 28.0 * t2 + 24.0 * t4);
    let xiia = sec / (5040.0 * nu.powi(7)) * (61.0 + 662.0 * t2 + 1320.0 * t4 + 720.0 * t6);
    let de = easting - e0;
    let lat = lat - vii * de.powi(2) + viii * de.powi(4) - ix * de.powi(6);
    let lon = lon0 + x * de - xi * de.powi(3) + xii * de.powi(5) - xiia * de.powi(7);
    LatLon { lat: lat.to_degrees(), lon: lon.to_degrees() }
}

/// OSGB36 to WGS84 by the Ordnance Survey's seven-parameter Helmert transformation: good to a few
/// metres, far finer than suggestions need.
fn osgb36_to_wgs84(p: LatLon) -> LatLon {
    let (lat, lon) = (p.lat.to_radians(), p.lon.to_radians());
    let e2 = AIRY_1830.e2();
    let nu = AIRY_1830.a / (1.0 - e2 * lat.sin().powi(2)).sqrt();
    let (x, y, z) = (nu * lat.cos() * lon.cos(), nu * lat.cos() * lon.sin(), (1.0 - e2) * nu * lat.sin());

    let arcsec = |s: f64| (s / 3600.0).to_radians();
    let (tx, ty, tz) = (446.448, -125.157, 542.060);
    let (rx, ry, rz) = (arcsec(0.1502), arcsec(0.2470), arcsec(0.8421));
    let s = 1.0 - 20.4894e-6;
    let x2 = tx + s * x - rz * y + ry * z;
    let y2 = ty + rz * x + s * y - rx * z;
    let z2 = tz - ry * x + rx * y + s * z;

    let e2 = WGS84.e2();
    let p = (x2 * x2 + y2 * y2).sqrt();
    let mut lat = z2.atan2(p * (1.0 - e2));
    for _ in 0..10 {
        let nu = WGS84.a / (1.0 - e2 * lat.sin().powi(2)).sqrt();
        lat = (z2 + e2 * nu * lat.sin()).atan2(p);
    }
    LatLon { lat: lat.to_degrees(), lon: y2.atan2(x2).to_degrees() }
}

/// A British National Grid easting and northing (metres) as WGS84 latitude and longitude.
/// Grid references outside Great Britain's grid are refused.
pub fn from_national_grid(easting: f64, northing: f64) -> Result<LatLon, String> {
    if !(0.0..=700_000.0).contains(&easting) || !(0.0..=1_300_000.0).contains(&northing) {
        return Err("is outside the British National Grid".into());
    }
    Ok(osgb36_to_wgs84(grid_to_osgb36(easting, northing)))
}

/// A latitude in degrees, -90 to 90.
pub fn latitude(x: f64) -> Result<f64, String> {
    if (-90.0..=90.0).contains(&x) { Ok(x) } else { Err("must be between -90 and 90".into()) }
}

/// A longitude in degrees, -180 to 180.
pub fn longitude(x: f64) -> Result<f64, String> {
    if (-180.0..=180.0).contains(&x) { Ok(x) } else { Err("must be between -180 and 180".into()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ordnance_surveys_worked_example_projects_back() {
        // Annex C's example: E 651409.903, N 313177.270 is 52°39'27.2531"N, 1°43'4.5177"E (OSGB36).
        let p = grid_to_osgb36(651_409.903, 313_177.270);
        let lat = 52.0 + 39.0 / 60.0 + 27.2531 / 3600.0;
        let lon = 1.0 + 43.0 / 60.0 + 4.5177 / 3600.0;
        assert!((p.lat - lat).abs() < 1e-6, "{p:?}");
        assert!((p.lon - lon).abs() < 1e-6, "{p:?}");
    }

    #[test]
    fn the_datum_shift_moves_a_point_by_about_a_hundred_metres() {
        let osgb = grid_to_osgb36(651_409.903, 313_177.270);
        let wgs = from_national_grid(651_409.903, 313_177.270).unwrap_or(osgb);
        let shift_m = distance_km(osgb, wgs) * 1000.0;
        assert!((80.0..140.0).contains(&shift_m), "{shift_m}");
    }

    #[test]
    fn grid_references_match_an_independent_converter() {
        // Reference values from PROJ (EPSG:27700 to EPSG:4326); 0.0001° is about 10 m.
        for (e, n, lat, lon) in [(570_900.0, 206_700.0, 51.732_959, 0.473_426), (651_409.903, 313_177.270, 52.657_979, 1.716_052)] {
            let p = from_national_grid(e, n).unwrap_or(LatLon { lat: 0.0, lon: 0.0 });
            assert!((p.lat - lat).abs() < 1e-4 && (p.lon - lon).abs() < 1e-4, "{p:?} for {e} {n}");
        }
        assert!(from_national_grid(-1.0, 10.0).is_err());
    }

    #[test]
    fn distances_are_great_circle_kilometres() {
        let chelmsford = LatLon { lat: 51.7356, lon: 0.4685 };
        let colchester = LatLon { lat: 51.8959, lon: 0.8919 };
        let d = distance_km(chelmsford, colchester);
        assert!((d - 33.9).abs() < 1.0, "{d}");
        assert!(distance_km(chelmsford, chelmsford).abs() < 1e-9);
        let (lo, hi) = bounding_box(chelmsford, 34.0);
        assert!(colchester.lat > lo.lat && colchester.lat < hi.lat && colchester.lon > lo.lon && colchester.lon < hi.lon);
    }
}
