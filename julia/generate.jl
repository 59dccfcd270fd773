# hallctl's driver for HallThruster.jl (v0.21.x), called by the julia backend through juliacall.
#
# Each simulation arrives as the path of a HallThruster.jl JSON input written by
# hallctl.sim.hallthruster_json; the batch runs on Julia threads (`-t` of hallctl generate
# sets JULIA_NUM_THREADS before Julia starts). Every result is a Dict of plain arrays and numbers
# in the same names and SI units the native backend produces; a failed run returns its status and
# reason instead of throwing, so one bad simulation never ends a campaign.
module HallctlDriver

using HallThruster

const PROFILE_KEYS = (
    ("B", :B), ("ne", :ne), ("ue", :ue), ("ji", :ji), ("E", :E), ("Tev", :Tev), ("pe", :pe),
    ("grad_pe", :grad_pe), ("phi", :potential), ("mobility", :mobility), ("nu_an", :nu_an),
    ("nu_en", :nu_en), ("nu_ei", :nu_ei), ("nu_wall", :nu_wall), ("nu_class", :nu_class),
    ("nu_iz", :nu_iz), ("nu_ex", :nu_ex), ("nu_e", :nu_e),
)

interior(x) = collect(Float64, x[2:end-1])

function safe(f, args...)
    try
        return Float64(f(args...)[1])
    catch
        return NaN
    end
end

function profiles(frame, max_charge::Int)
    out = Dict{String,Vector{Float64}}()
    for (name, field) in PROFILE_KEYS
        out[name] = interior(getproperty(frame, field))
    end
    out["nn"] = interior(frame.neutrals[:Xe].n)
    n = length(out["ne"])
    for Z in 1:3
        if Z <= max_charge
            ion = frame.ions[:Xe][Z]
            out["ni_$Z"] = interior(ion.n)
            out["ui_$Z"] = interior(ion.u)
        else
            out["ni_$Z"] = zeros(n)
            out["ui_$Z"] = zeros(n)
        end
    end
    return out
end

function run_one(input_path::String, average_start_s::Float64, max_charge::Int)
    t0 = time()
    try
        sol = HallThruster.run_simulation(input_path)
        status = string(sol.retcode)
        series = Dict(
            "discharge_current_A" => collect(Float64, HallThruster.discharge_current(sol)),
            "ion_current_A" => collect(Float64, HallThruster.ion_current(sol)),
            "thrust_N" => collect(Float64, HallThruster.thrust(sol)),
        )
        result = Dict{String,Any}(
            "status" => status == "success" ? "success" : "failure",
            "reason" => status == "success" ? "" : "HallThruster.jl returned $(status): $(sol.error)",
            "t_s" => collect(Float64, sol.t), "series" => series, "wall_s" => time() - t0,
        )
        if status == "success"
            avg = HallThruster.time_average(sol, average_start_s)
            result["profiles"] = profiles(avg.frames[1], max_charge)
            result["z_m"] = interior(sol.grid.cell_centers)
            result["performance"] = Dict(
                "thrust_N" => safe(HallThruster.thrust, avg),
                "discharge_current_A" => safe(HallThruster.discharge_current, avg),
                "ion_current_A" => safe(HallThruster.ion_current, avg),
                "anode_efficiency" => safe(HallThruster.anode_eff, avg),
                "mass_utilization" => safe(HallThruster.mass_eff, avg),
                "current_utilization" => safe(HallThruster.current_eff, avg),
                "voltage_efficiency" => safe(HallThruster.voltage_eff, avg),
                "divergence_efficiency" => safe(HallThruster.divergence_eff, avg),
            )
        end
        return result
    catch err
        return Dict{String,Any}("status" => "error", "reason" => sprint(showerror, err), "wall_s" => time() - t0)
    end
end

"""Run a batch of JSON inputs on Julia's threads; results in input order."""
function run_batch(paths::Vector{String}, average_starts::Vector{Float64}, max_charge::Int)
    out = Vector{Any}(undef, length(paths))
    Threads.@threads for i in eachindex(paths)
        out[i] = run_one(paths[i], average_starts[i], max_charge)
    end
    return out
end

end # module
