pub fn build(_c: &mut crate::config::StageConfig) -> Option<Box<dyn crate::stages::Stage>> { None }
