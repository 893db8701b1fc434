-- Profiles are kept as the station's limit profiles (contract.smart_charging.LimitProfile), no longer in the
-- shape of the protocol that set them. The transaction id goes: a session profile is bound by session_id.
-- The keys renamed are unique strings followed by a colon, so no value can be mistaken for one.
UPDATE profiles SET
    purpose = CASE purpose WHEN 'ChargePointMaxProfile' THEN 'station_max' WHEN 'TxDefaultProfile'
        THEN 'session_default' WHEN 'TxProfile' THEN 'session' ELSE purpose END,
    body =
    replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
    replace(replace(replace(replace(replace(replace(replace(
        json_remove(body, '$.transaction_id'),
        '"charging_profile_id":', '"id":'),
        '"charging_profile_purpose":', '"purpose":'),
        '"charging_profile_kind":', '"kind":'),
        '"recurrency_kind":', '"recurrence":'),
        '"charging_schedule_period":', '"periods":'),
        '"charging_schedule":', '"schedule":'),
        '"charging_rate_unit":', '"unit":'),
        '"start_schedule":', '"starts_at":'),
        '"min_charging_rate":', '"min_rate":'),
        '"duration":', '"duration_s":'),
        '"start_period":', '"start_s":'),
        '"number_phases":', '"phases":'),
        '"ChargePointMaxProfile"', '"station_max"'),
        '"TxDefaultProfile"', '"session_default"'),
        '"TxProfile"', '"session"'),
        '"Absolute"', '"absolute"'),
        '"Recurring"', '"recurring"'),
        '"Relative"', '"relative"'),
        '"Daily"', '"daily"'),
        '"Weekly"', '"weekly"');
