# hallctl's driver for HallThruster.jl v0.21.6, called by the julia backend (hallctl/backends/julia.py)
# through juliacall. docs/julia-backend.md lists what it uses of HallThruster.jl and what it returns.
#
# Each simulation arrives as the path of a HallThruster.jl JSON input written by
# hallctl.sim.hallthruster_writer, with the averaging start time [s] and the highest charge state.
# `run_one` returns a Dict of plain arrays and numbers: HallThruster.jl's retcode and error, the save
# times, the grid, every frame's discharge current and time step, every frame's boundary values of
# what thrust and ion current need, and the average of the frames from the averaging start on.
# hallctl derives everything else with the native backend's own functions. A run HallThruster.jl
# reports as failed keeps its retcode; an exception is caught and returned as retcode "exception",
# so one bad simulation never ends a campaign.
#
# Only HallThruster.run_simulation and fields of its Solution, frames and species are used; the
# variables holding them are always named `sol`, `frame` and `species`, which is how
# tests/backends/test_julia_driver_api.py finds every use and checks it against the documented list.
module HallctlDriver

using HallThruster

const REQUIRED = v"0.21.6"

if pkgversion(HallThruster) != REQUIRED
    error("HallThruster.jl $(pkgversion(HallThruster)) is installed, but hallctl's julia backend needs exactly " *
          "$(REQUIRED): julia -e 'using Pkg; Pkg.add(name=\"HallThruster\", version=\"$(REQUIRED)\")'")
end

# averaged frame arrays: hallctl's name => field of a HallThruster.jl frame
const FRAME_FIELDS = (
    "B" => :B, "ne" => :ne, "ue" => :ue, "ji" => :ji, "E" => :E, "Tev" => :Tev, "pe" => :pe,
    "grad_pe" => :grad_pe, "phi" => :potential, "mobility" => :mobility, "nu_an" => :nu_an,
    "nu_en" => :nu_en, "nu_ei" => :nu_ei, "nu_wall" => :nu_wall, "nu_class" => :nu_class,
    "nu_iz" => :nu_iz, "nu_ex" => :nu_ex, "nu_e" => :nu_e, "channel_area" => :channel_area,
    "tan_div_angle" => :tan_div_angle,
)

# arrays of which every frame's two boundary values are returned (for thrust and ion current per frame)
const BOUNDARY_FIELDS = ("channel_area", "tan_div_angle", "ji")

floats(x) = collect(Float64, x)

# the entry of the one propellant (hallctl writes exactly one, xenon), whatever the container's key type
propellant(by_gas) = only(values(by_gas))

as_float(x::Real) = Float64(x)
as_float(x) = parse(Float64, string(x))
as_int(x::Integer) = Int(x)
as_int(x) = parse(Int, string(x))

"""One frame's arrays by hallctl's names, with both boundary values (N+2 entries each)."""
function frame_arrays(frame, max_charge::Int)
    out = Dict{String,Vector{Float64}}()
    for (name, field) in FRAME_FIELDS
        out[name] = floats(getproperty(frame, field))
    end
    species = propellant(frame.neutrals)
    out["nn"] = floats(species.n)
    ions = propellant(frame.ions)
    for Z in 1:max_charge
        species = ions[Z]
        out["ni_$Z"] = floats(species.n)
        out["ui_$Z"] = floats(species.u)
        out["niui_$Z"] = floats(species.nu)
    end
    return out
end

"""The mean of every frame array over `frames` (summed frame by frame, then divided, as hallctl does)."""
function average(frames, max_charge::Int)
    total = frame_arrays(frames[1], max_charge)
    for k in 2:length(frames)
        for (name, array) in frame_arrays(frames[k], max_charge)
            total[name] .+= array
        end
    end
    for array in Base.values(total)
        array ./= length(frames)
    end
    return total
end

"""Every frame's anode-side and exit-side value of the arrays thrust and ion current need."""
function boundaries(frames, max_charge::Int)
    names = vcat(collect(BOUNDARY_FIELDS), ["ni_$Z" for Z in 1:max_charge], ["niui_$Z" for Z in 1:max_charge])
    out = Dict{String,Vector{Float64}}()
    for name in names
        out[name * "_left"] = Float64[]
        out[name * "_right"] = Float64[]
    end
    for frame in frames
        arrays = frame_arrays(frame, max_charge)
        for name in names
            push!(out[name * "_left"], first(arrays[name]))
            push!(out[name * "_right"], last(arrays[name]))
        end
    end
    return out
end

"""What hallctl reads of a finished run (docs/julia-backend.md, "What the driver returns")."""
function solution_result(sol, average_start_s::Float64, max_charge::Int, wall_s::Float64)
    frames = sol.frames
    start = findfirst(t -> t >= average_start_s, sol.t)
    window = start === nothing ? frames[1:0] : frames[start:end]
    return Dict{String,Any}(
        "retcode" => string(sol.retcode),
        "error" => string(sol.error),
        "t" => floats(sol.t),
        "grid" => floats(sol.grid),
        "dt" => Float64[frame.dt for frame in frames],
        "discharge_current" => Float64[frame.discharge_current for frame in frames],
        "boundaries" => boundaries(frames, max_charge),
        "averaged" => isempty(window) ? Dict{String,Vector{Float64}}() : average(window, max_charge),
        "averaged_discharge_current" =>
            isempty(window) ? NaN : sum(frame.discharge_current for frame in window) / length(window),
        "wall_s" => wall_s,
    )
end

"""Run one HallThruster.jl JSON input. Never throws: an exception comes back as retcode "exception".
`wall_s` times run_simulation alone (hallctl runs a short warm-up first, so no compilation is in it)."""
function run_one(input_path::AbstractString, average_start_s::Real, max_charge::Integer)
    try
        started = time()
        sol = HallThruster.run_simulation(String(input_path))
        wall_s = time() - started
        return solution_result(sol, Float64(average_start_s), Int(max_charge), wall_s)
    catch err
        err isa InterruptException && rethrow()
        return Dict{String,Any}("retcode" => "exception", "error" => sprint(showerror, err), "wall_s" => 0.0)
    end
end

"""Run a batch on Julia's threads; results in input order. juliacall passes Python lists as PyList, so the
arguments are any vectors, converted to typed ones here, on the calling thread, before other threads start."""
function run_batch(input_paths::AbstractVector, average_starts::AbstractVector, max_charges::AbstractVector)
    paths = String[string(p) for p in input_paths]
    starts = Float64[as_float(x) for x in average_starts]
    charges = Int[as_int(x) for x in max_charges]
    out = Vector{Any}(undef, length(paths))
    Threads.@threads for i in eachindex(paths)
        out[i] = run_one(paths[i], starts[i], charges[i])
    end
    return out
end

end # module
